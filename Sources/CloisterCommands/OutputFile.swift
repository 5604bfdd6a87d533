import CloisterSystem
import Foundation

/// Writes reports for `--output FILE`: to a temporary file beside the target, synced, then
/// renamed over it, so a reader never sees half a report, and a failed or killed run leaves the
/// old file as it was. A file that exists keeps its permissions (a report may be kept private).
public enum OutputFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        do {
            let mode = (try? Files.status(path)).map { $0.mode & 0o7777 } ?? 0o644
            try Files.writeAtomically(bytes, to: path, mode: mode)
        } catch let error as SystemError {
            throw OutputFileError(path: path, reason: error.description)
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
