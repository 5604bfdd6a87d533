import CloisterCodec
import CloisterModel

extension DocCursor {
    /// Where a posture field was declared, in the model's terms. Here rather than beside
    /// `DocCursor` because the document tree lives in CloisterCodec, which knows no model.
    public func location(file: String) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column, path: path)
    }
}
