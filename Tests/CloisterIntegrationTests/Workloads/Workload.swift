/// A real workload a test started. Tests `defer { workload.stop() }` right after starting one,
/// so it is removed even when an expectation fails; `stop()` never throws and may run twice.
protocol Workload {
    /// A process of the workload, to pass to `cloister scan --pid`.
    var pid: Int32 { get }
    func stop()
}
