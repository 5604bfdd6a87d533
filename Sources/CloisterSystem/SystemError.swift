#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call, captured at once with the operation and path it was for.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The process went away (or the file with it): the caller should skip, not fail.
    public var isGone: Bool { errno == ENOENT || errno == ESRCH }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "\(operation) \(path): \(reason) (errno \(errno))"
    }
}

/// Runs `body` until it stops failing with EINTR, capturing errno into a `SystemError`.
@inline(__always)
func retryingInterrupts<T: SignedInteger>(
    _ operation: String, path: String, _ body: () -> T
) throws -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(operation, path: path, errno: code)
    }
}
