import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Docker engine of the tests' own: `containerd`, then `dockerd` on it, each started as a child
/// of the test process and stopped by its PID, with every path of theirs (sockets, state, data
/// root, exec root, pid file) in one private directory, so the host's engine, if any, is never
/// touched. No systemd, no network: `--iptables=false --bridge=none`, containers on
/// `--network none`. The busybox rootfs of test-assets/ is imported as the only image.
///
/// `--privileged` asks runc for every capability, and this host's bounding set lacks
/// CAP_SYS_RESOURCE ("unable to apply caps"); the engine gets a runtime `cloister-runc`
/// (`--add-runtime`), a wrapper that drops from the bundle's config.json what the bounding set
/// lacks before calling runc. Privileged containers run with `--runtime cloister-runc`.
final class DockerEngine: @unchecked Sendable {
    static let image = "cloister-busybox"
    static let wrapperRuntime = "cloister-runc"
    /// Docker's CLI from the docker.io package; a newer CLI elsewhere in PATH may not speak to 20.10.
    static let cli = FileManager.default.isExecutableFile(atPath: "/usr/bin/docker") ? "/usr/bin/docker" : "docker"

    let directory: URL
    /// Under /var/lib/docker, as an engine's default data root is, so that the container's own
    /// `containers/ID/{hosts,hostname,resolv.conf}` lie where the sensitive-mount rules look.
    let dataRoot: String
    let containerd: ContainerdEngine
    let dockerd: BackgroundProcess
    var socket: String { directory.appendingPathComponent("docker.sock").path }
    private var containers: [String] = []
    private let lock = NSLock()

    /// Starts both daemons and imports the image. Throws (having stopped whatever it started)
    /// when either does not come up.
    static func start(extraFlags: [String] = []) throws -> DockerEngine {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(uniqueName("docker"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let dataRoot = "/var/lib/docker/" + directory.lastPathComponent
        try FileManager.default.createDirectory(atPath: dataRoot, withIntermediateDirectories: true)
        let wrapper = directory.appendingPathComponent("cloister-runc")
        try Self.wrapperScript.write(to: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper.path, 0o755)

        let containerd: ContainerdEngine
        do {
            containerd = try ContainerdEngine.start(directory: directory.appendingPathComponent("containerd"))
        } catch {
            try? FileManager.default.removeItem(atPath: dataRoot)
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        let containerdSocket = containerd.socket
        let dockerd: BackgroundProcess
        do {
            dockerd = try BackgroundProcess(
                ["dockerd", "--iptables=false", "--ip-masq=false", "--bridge=none",
                 "--containerd=\(containerdSocket)",
                 "--host=unix://\(directory.appendingPathComponent("docker.sock").path)",
                 "--data-root=\(dataRoot)",
                 "--exec-root=\(directory.appendingPathComponent("exec").path)",
                 "--pidfile=\(directory.appendingPathComponent("dockerd.pid").path)",
                 "--add-runtime=\(wrapperRuntime)=\(wrapper.path)"] + extraFlags,
                log: directory.appendingPathComponent("dockerd.log"))
        } catch {
            containerd.stop()
            throw error
        }
        let engine = DockerEngine(directory: directory, dataRoot: dataRoot, containerd: containerd, dockerd: dockerd)
        do {
            guard wait(timeout: 60, { (try? engine.docker(["version"], timeout: 10, check: false))?.succeeded == true || !dockerd.isRunning }),
                dockerd.isRunning
            else { throw HarnessError("dockerd did not start: \(dockerd.log.suffix(3000))") }
            try Shell.run(
                ["sh", "-c", "tar -C \"$1\" -c . | \"$2\" -H \"unix://$3\" import - \"$4\"", "import",
                 Paths.rootfs.path, cli, engine.socket, image], timeout: 120)
        } catch {
            engine.stop()
            throw error
        }
        return engine
    }

    private init(directory: URL, dataRoot: String, containerd: ContainerdEngine, dockerd: BackgroundProcess) {
        self.directory = directory
        self.dataRoot = dataRoot
        self.containerd = containerd
        self.dockerd = dockerd
    }

    @discardableResult
    func docker(_ arguments: [String], timeout: Int = 120, check: Bool = true) throws -> CommandResult {
        try Shell.run([Self.cli, "-H", "unix://\(socket)"] + arguments, timeout: timeout, check: check)
    }

    /// `docker run -d --network NETWORK FLAGS cloister-busybox sleep 1000`, once its init runs.
    func run(_ label: String, network: String = "none", flags: [String] = []) throws -> DockerContainer {
        let name = uniqueName(label)
        lock.lock()
        containers.append(name)
        lock.unlock()
        let run = try docker(["run", "-d", "--name", name, "--network", network] + flags + [Self.image, "sleep", "1000"])
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let inspect = try docker(["inspect", "--format", "{{.State.Pid}} {{.State.Running}}", name])
        let fields = inspect.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, fields[1] == "true", ProcFS.exists(pid) else {
            throw HarnessError("docker container \(name) is not running: \(inspect.stdout)")
        }
        return DockerContainer(engine: self, name: name, id: id, pid: pid)
    }

    /// Removes the containers, then stops dockerd and containerd by their PIDs (SIGTERM, then
    /// SIGKILL), unmounts what they left under the private directory and removes it. Safe twice.
    func stop() {
        lock.lock()
        let names = containers
        containers = []
        lock.unlock()
        if dockerd.isRunning, !names.isEmpty {
            _ = try? docker(["rm", "-f"] + names, timeout: 60, check: false)
        }
        dockerd.stop(grace: 15)
        containerd.stop()
        for path in [dataRoot, directory.path] {
            EngineProcesses.unmount(under: path)
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    deinit { stop() }

    /// The runtime wrapper: on `create`, drop from config.json every capability the caller's
    /// bounding set lacks (by number, read from /proc/self/status), then exec runc.
    static let wrapperScript = #"""
        #!/bin/sh
        # Written by cloister's integration tests (DockerEngine): see that file.
        bundle=""
        previous=""
        for argument in "$@"; do
            if [ "$previous" = "--bundle" ] || [ "$previous" = "-b" ]; then bundle="$argument"; fi
            previous="$argument"
        done
        if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
            python3 - "$bundle/config.json" <<'PYTHON'
        import json, sys
        names = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
                 "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
                 "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
                 "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
                 "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
                 "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]
        mask = 0
        for line in open("/proc/self/status"):
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
        held = {"CAP_" + name for bit, name in enumerate(names) if mask >> bit & 1}
        path = sys.argv[1]
        config = json.load(open(path))
        capabilities = config.get("process", {}).get("capabilities", {})
        for key, values in capabilities.items():
            capabilities[key] = [value for value in values if value in held]
        json.dump(config, open(path, "w"))
        PYTHON
        fi
        exec runc "$@"
        """#
}

/// A container of a `DockerEngine`.
struct DockerContainer: Workload {
    let engine: DockerEngine
    let name: String
    let id: String
    let pid: Int32

    func stop() {
        _ = try? engine.docker(["rm", "-f", name], timeout: 60, check: false)
    }
}
