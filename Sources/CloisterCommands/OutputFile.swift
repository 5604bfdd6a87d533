import Foundation

/// Writes reports for `--output FILE`: to a temporary file beside the target, then renamed over
/// it, so a reader never sees half a report and a failed write leaves the old file as it was.
public enum OutputFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: [.atomic])
        } catch {
            throw OutputFileError(path: path, reason: error.localizedDescription)
        }
    }
}

public struct OutputFileError: Error, LocalizedError {
    public var path: String
    public var reason: String

    public var errorDescription: String? { "cannot write the report to \(path): \(reason)" }
}
