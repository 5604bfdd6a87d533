import Foundation

enum FileManagerHelper {
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "cloister-rules-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
