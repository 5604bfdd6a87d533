import Foundation

/// A container started by plain runc from a bundle made with `runc spec`, its root the busybox
/// rootfs in test-assets/. No terminal: `runc run -d` with a console would need a socket.
struct RuncContainer: Workload {
    let id: String
    let bundle: URL
    let pid: Int32

    /// `configure` edits the generated config.json (as JSON objects) before the start.
    static func run(
        _ label: String, command: [String] = ["sleep", "1000"],
        configure: (inout [String: Any]) -> Void = { _ in }
    ) throws -> RuncContainer {
        let id = uniqueName(label)
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent(id)
        try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
        do {
            try Shell.run(["runc", "spec", "--bundle", bundle.path])
            let configURL = bundle.appendingPathComponent("config.json")
            guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any],
                var process = config["process"] as? [String: Any]
            else { throw HarnessError("runc spec wrote an unexpected config.json in \(bundle.path)") }
            process["terminal"] = false
            process["args"] = command
            config["process"] = process
            config["root"] = ["path": Paths.rootfs.path, "readonly": true]
            config["hostname"] = id
            configure(&config)
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
                .write(to: configURL)

            try Shell.run(["runc", "run", "-d", "--bundle", bundle.path, id])
            let state = try Shell.run(["runc", "state", id])
            guard let object = try JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any],
                let pid = (object["pid"] as? NSNumber)?.int32Value, pid > 0, ProcFS.exists(pid)
            else { throw HarnessError("runc container \(id) is not running: \(state.stdout)") }
            return RuncContainer(id: id, bundle: bundle, pid: pid)
        } catch {
            _ = try? Shell.run(["runc", "delete", "-f", id], check: false)
            try? FileManager.default.removeItem(at: bundle)
            throw error
        }
    }

    func stop() {
        _ = try? Shell.run(["runc", "delete", "-f", id], check: false)
        try? FileManager.default.removeItem(at: bundle)
    }
}
