import CloisterModel
import CloisterSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What container engines and hypervisor managers record about what they run. Read once per
/// scan, only from the engines' own state directories; each file is bounded and may be absent.
struct RuntimeState {
    struct OCIState {
        /// The engine that keeps the state (`containerd` for its runc root, `docker` for
        /// Docker's), or the runtime itself when nothing else manages it.
        var runtime: String
        var id: String
        /// The OCI runtime that created the container.
        var ociRuntime: String = "runc"
    }

    struct LibvirtDomain {
        var name: String
        var uuid: String?
        var path: String
    }

    var runcByPID: [Int: OCIState] = [:]
    var libvirtByPID: [Int: LibvirtDomain] = [:]
    var podmanNames: [String: String] = [:]
    /// Where Docker keeps its state: `--data-root` from dockerd's arguments or `data-root` in
    /// its daemon.json, else the default.
    var dockerDataRoots: [String] = [defaultDockerDataRoot]

    static let defaultDockerDataRoot = "/var/lib/docker"

    /// OCI runtime state roots: runc's default, containerd's and Docker's per-namespace roots, crun's.
    static let runcRoots = ["/run/runc"]
    static let containerdRuncRoot = "/run/containerd/runc"
    /// Docker gives each runtime it knows (`runc`, and every `--add-runtime`/`runtimes` entry)
    /// its own state root, `/run/docker/runtime-NAME/moby`; what the runtime writes there, not
    /// the name Docker gave it, says which runtime it is.
    static let dockerExecRoot = "/run/docker"

    static func load(root: HostRoot, processes: [ProcessRecord] = []) -> RuntimeState {
        var state = RuntimeState()
        state.dockerDataRoots = dockerDataRoots(root: root, processes: processes)
        var roots: [(directory: String, engine: String?)] = runcRoots.map { ($0, nil) }
        if let namespaces = try? Files.list(root.path(containerdRuncRoot)) {
            // containerd's own runc root holds what `ctr run` (or any containerd client) started:
            // containerd manages it, runc created it.
            roots += namespaces.sorted().map { ("\(containerdRuncRoot)/\($0)", "containerd") }
        }
        for execRoot in dockerExecRoots(root: root, processes: processes) {
            guard let entries = try? Files.list(root.path(execRoot)) else { continue }
            roots += entries.filter { $0.hasPrefix("runtime-") }.sorted().map { ("\(execRoot)/\($0)/moby", "docker") }
        }
        roots.append(("/run/crun", nil))
        roots.append(("/run/youki", nil))
        for (directory, engine) in roots {
            guard let ids = try? Files.list(root.path(directory)) else { continue }
            for id in ids {
                guard let found = OCIRuntimeState.read(root: root, directory: "\(directory)/\(id)") else { continue }
                state.runcByPID[found.pid] = OCIState(runtime: engine ?? found.runtime, id: id, ociRuntime: found.runtime)
            }
        }
        if let files = try? Files.list(root.path("/run/libvirt/qemu")) {
            for file in files where file.hasSuffix(".xml") {
                let path = "/run/libvirt/qemu/\(file)"
                guard let text = try? Files.readText(root.path(path), limit: 4 << 20),
                    let domain = LibvirtStatusParser.parse(text, path: path)
                else { continue }
                state.libvirtByPID[domain.pid] = LibvirtDomain(name: domain.name, uuid: domain.uuid, path: path)
            }
        }
        return state
    }

    /// The name in the container's `config.v2.json`, under a data root or, with
    /// `--userns-remap`, under its `UID.GID/` directory there.
    func dockerName(id: String, root: HostRoot) -> String? {
        guard let directory = dockerContainerDirectory(id: id, root: root),
            let bytes = try? Files.read(root.path("\(directory)/config.v2.json"), limit: 8 << 20)
        else { return nil }
        return EngineStateParser.dockerName(configV2: bytes)
    }

    /// The container's directory (`DATAROOT[/UID.GID]/containers/ID`) that holds its config.v2.json.
    func dockerContainerDirectory(id: String, root: HostRoot) -> String? {
        guard CgroupSignature.isHexID(id) else { return nil }
        for dataRoot in dockerDataRoots {
            var directories = [dataRoot]
            if let entries = try? Files.list(root.path(dataRoot)) {
                directories += entries.filter(Self.isRemapDirectory).sorted().map { "\(dataRoot)/\($0)" }
            }
            for directory in directories {
                let container = "\(directory)/containers/\(id)"
                if Files.exists(root.path(container + "/config.v2.json")) { return container }
            }
        }
        return nil
    }

    /// userns-remap's per-mapping data root: `100000.100000`.
    static func isRemapDirectory(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.count <= 10 && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// Docker's data roots: each running dockerd's `--data-root` (or the old `-g`/`--graph`),
    /// else the `data-root` of the daemon.json it reads (`--config-file`, default
    /// /etc/docker/daemon.json), else /var/lib/docker.
    static func dockerDataRoots(root: HostRoot, processes: [ProcessRecord]) -> [String] {
        var result: [String] = []
        var daemons = processes.filter { $0.executableName == "dockerd" }.map(\.command)
        if daemons.isEmpty { daemons = [[]] }
        for arguments in daemons {
            let options = DaemonArguments(arguments)
            if let dataRoot = options.value(["--data-root", "-g", "--graph"]) {
                result.append(dataRoot)
                continue
            }
            let configFile = options.value(["--config-file"]) ?? "/etc/docker/daemon.json"
            if let bytes = try? Files.read(root.path(configFile), limit: 1 << 20),
                let dataRoot = EngineStateParser.dockerDaemonDataRoot(daemonJSON: bytes)
            {
                result.append(dataRoot)
            } else {
                result.append(defaultDockerDataRoot)
            }
        }
        var seen: Set<String> = []
        return result.filter { $0.hasPrefix("/") && seen.insert($0).inserted }
    }

    /// Docker's exec roots, where each runtime's state lives: each running dockerd's
    /// `--exec-root`, else the `exec-root` of the daemon.json it reads, else /run/docker.
    static func dockerExecRoots(root: HostRoot, processes: [ProcessRecord]) -> [String] {
        var result: [String] = []
        var daemons = processes.filter { $0.executableName == "dockerd" }.map(\.command)
        if daemons.isEmpty { daemons = [[]] }
        for arguments in daemons {
            let options = DaemonArguments(arguments)
            if let execRoot = options.value(["--exec-root"]) {
                result.append(execRoot)
                continue
            }
            let configFile = options.value(["--config-file"]) ?? "/etc/docker/daemon.json"
            if let bytes = try? Files.read(root.path(configFile), limit: 1 << 20),
                let execRoot = EngineStateParser.dockerDaemonExecRoot(daemonJSON: bytes)
            {
                result.append(execRoot)
            } else {
                result.append(dockerExecRoot)
            }
        }
        var seen: Set<String> = []
        return result.filter { $0.hasPrefix("/") && seen.insert($0).inserted }
    }

    /// Kubernetes containers: `namespace/pod/container` from the CRI annotations in the bundle.
    func criName(id: String, runtime: String, root: HostRoot) -> String? {
        criIdentity(id: id, runtime: runtime, root: root).name
    }

    /// The CRI annotations of a Kubernetes container's bundle: its `namespace/pod/container`
    /// name and the ID of its pod's sandbox (whose hosts, hostname and resolv.conf it is given).
    func criIdentity(id: String, runtime: String, root: HostRoot) -> (name: String?, sandboxID: String?) {
        let candidates = runtime == "cri-o"
            ? ["/run/containers/storage/overlay-containers/\(id)/userdata/config.json"]
            : ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/\(id)/config.json"]
        for path in candidates {
            guard let bytes = try? Files.read(root.path(path), limit: 8 << 20) else { continue }
            let name = EngineStateParser.criName(bundleConfig: bytes)
            let sandboxID = EngineStateParser.criSandboxID(bundleConfig: bytes)
            if name != nil || sandboxID != nil { return (name, sandboxID) }
        }
        return (nil, nil)
    }
}

/// Which OCI runtime wrote a container's state directory, told by the file it leaves there:
/// runc's `state.json` (`init_process_pid`), crun's `status` (`pid`), youki's `state.json`
/// (the OCI state: `ociVersion`, `pid`, `bundle`; never `init_process_pid`).
enum OCIRuntimeState {
    static func read(root: HostRoot, directory: String) -> (runtime: String, pid: Int)? {
        // state.json holds the whole OCI config (tens of KiB); only the init PID is wanted, and
        // runc writes it among the first keys, so read a bounded prefix and pick the one field.
        if let bytes = try? Files.read(root.path("\(directory)/state.json"), limit: 4096) {
            if let pid = RuncStateFile.initProcessPID(in: bytes) { return ("runc", pid) }
        }
        if let bytes = try? Files.read(root.path("\(directory)/state.json"), limit: 1 << 20),
            let pid = EngineStateParser.youkiPID(state: bytes)
        {
            return ("youki", pid)
        }
        if let bytes = try? Files.read(root.path("\(directory)/status"), limit: 1 << 20),
            let pid = EngineStateParser.crunPID(status: bytes)
        {
            return ("crun", pid)
        }
        return nil
    }
}

public enum RuncStateFile {
    /// The value of `"init_process_pid":N` in runc's state.json, whose first keys are `id`,
    /// `init_process_pid` and `init_process_start`.
    public static func initProcessPID(in bytes: [UInt8]) -> Int? {
        let key = Array(#""init_process_pid":"#.utf8)
        guard bytes.count > key.count else { return nil }
        var index = 0
        while index + key.count <= bytes.count {
            if bytes[index] == key[0], Array(bytes[index..<index + key.count]) == key {
                var cursor = index + key.count
                while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
                var value = 0
                var digits = 0
                while cursor < bytes.count, bytes[cursor] >= 48, bytes[cursor] <= 57, digits < 10 {
                    value = value * 10 + Int(bytes[cursor] - 48)
                    cursor += 1
                    digits += 1
                }
                return digits > 0 && value > 0 ? value : nil
            }
            index += 1
        }
        return nil
    }
}

/// The JSON state files of engines, each parsed from bytes a workload's engine wrote, split from
/// reading so that they can be fuzzed and tested without a host.
public enum EngineStateParser {
    /// The PID in crun's `/run/crun/ID/status`.
    public static func crunPID(status bytes: [UInt8]) -> Int? {
        (try? JSONDecoder().decode(CrunStatusFile.self, from: Data(bytes)))?.pid
    }

    /// The PID in youki's `state.json`: the OCI state's own keys (`ociVersion`, `pid`,
    /// `bundle`) at the top, where runc keeps `init_process_pid` and its libcontainer config.
    public static func youkiPID(state bytes: [UInt8]) -> Int? {
        guard let decoded = try? JSONDecoder().decode(YoukiStateFile.self, from: Data(bytes)),
            decoded.ociVersion != nil, decoded.bundle != nil, let pid = decoded.pid, pid > 0
        else { return nil }
        return pid
    }

    /// The container name in Docker's `config.v2.json`, without its leading slash.
    public static func dockerName(configV2 bytes: [UInt8]) -> String? {
        guard let decoded = try? JSONDecoder().decode(DockerConfigFile.self, from: Data(bytes)) else { return nil }
        return decoded.Name.hasPrefix("/") ? String(decoded.Name.dropFirst()) : decoded.Name
    }

    /// `data-root` in Docker's daemon.json.
    public static func dockerDaemonDataRoot(daemonJSON bytes: [UInt8]) -> String? {
        (try? JSONDecoder().decode(DockerDaemonFile.self, from: Data(bytes)))?.dataRoot
    }

    /// `exec-root` in Docker's daemon.json.
    public static func dockerDaemonExecRoot(daemonJSON bytes: [UInt8]) -> String? {
        (try? JSONDecoder().decode(DockerDaemonFile.self, from: Data(bytes)))?.execRoot
    }

    /// The pod sandbox's ID in the CRI annotations of a containerd or CRI-O bundle's
    /// config.json, when it is an engine ID (64 hex digits).
    public static func criSandboxID(bundleConfig bytes: [UInt8]) -> String? {
        guard let decoded = try? JSONDecoder().decode(BundleAnnotations.self, from: Data(bytes)),
            let annotations = decoded.annotations,
            let id = annotations["io.kubernetes.cri.sandbox-id"] ?? annotations["io.kubernetes.cri-o.SandboxID"],
            CgroupSignature.isHexID(id)
        else { return nil }
        return id
    }

    /// `namespace/pod/container` from the CRI annotations of a containerd or CRI-O bundle's config.json.
    public static func criName(bundleConfig bytes: [UInt8]) -> String? {
        guard let decoded = try? JSONDecoder().decode(BundleAnnotations.self, from: Data(bytes)),
            let annotations = decoded.annotations
        else { return nil }
        let namespace = annotations["io.kubernetes.cri.sandbox-namespace"] ?? annotations["io.kubernetes.pod.namespace"]
        let pod = annotations["io.kubernetes.cri.sandbox-name"] ?? annotations["io.kubernetes.pod.name"]
        let container = annotations["io.kubernetes.cri.container-name"] ?? annotations["io.kubernetes.container.name"]
        let parts = [namespace, pod, container].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}

private struct CrunStatusFile: Decodable {
    var pid: Int
}

private struct YoukiStateFile: Decodable {
    var ociVersion: String?
    var pid: Int?
    var bundle: String?
}

private struct DockerConfigFile: Decodable {
    var Name: String
}

private struct DockerDaemonFile: Decodable {
    var dataRoot: String?
    var execRoot: String?

    enum CodingKeys: String, CodingKey {
        case dataRoot = "data-root"
        case execRoot = "exec-root"
    }
}

/// A daemon's command line, read for the value of an option in any of its spellings:
/// `--opt VALUE`, `--opt=VALUE`, and for a one-letter option `-o VALUE` and `-oVALUE`.
/// The first occurrence wins; nothing after `--` is an option.
struct DaemonArguments {
    let arguments: [String]

    init(_ arguments: [String]) { self.arguments = arguments }

    func value(_ names: [String]) -> String? {
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { return nil }
            for name in names {
                if argument == name, index + 1 < arguments.count { return arguments[index + 1] }
                if name.hasPrefix("--"), argument.hasPrefix(name + "=") { return String(argument.dropFirst(name.count + 1)) }
                if !name.hasPrefix("--"), name.count == 2, argument.hasPrefix(name), argument.count > 2,
                    !argument.hasPrefix("--")
                {
                    return String(argument.dropFirst(2))
                }
            }
            index += 1
        }
        return nil
    }
}

private struct BundleAnnotations: Decodable {
    var annotations: [String: String]?
}

/// libvirt's live status XML (`/run/libvirt/qemu/NAME.xml`): `<domstatus … pid='N'>` wrapping
/// the domain definition. Only the identity is read here; `check` parses domain XML in full.
public enum LibvirtStatusParser {
    public static func parse(_ text: String, path: String) -> (pid: Int, name: String, uuid: String?)? {
        guard let statusTag = firstTag("domstatus", in: text), let pidText = attribute("pid", in: statusTag),
            let pid = Int(pidText), let name = firstElementText("name", in: text)
        else { return nil }
        return (pid, name, firstElementText("uuid", in: text))
    }

    static func firstTag(_ tag: String, in text: String) -> Substring? {
        guard let start = text.firstRange(of: "<\(tag)"), let end = text[start.upperBound...].firstIndex(of: ">") else {
            return nil
        }
        return text[start.upperBound..<end]
    }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        for quote in ["'", "\""] {
            if let range = tag.firstRange(of: " \(name)=\(quote)") {
                let rest = tag[range.upperBound...]
                if let close = rest.firstIndex(of: Character(quote)) { return String(rest[..<close]) }
            }
        }
        return nil
    }

    static func firstElementText(_ element: String, in text: String) -> String? {
        guard let open = text.firstRange(of: "<\(element)>"),
            let close = text[open.upperBound...].firstRange(of: "</\(element)>")
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }
}
