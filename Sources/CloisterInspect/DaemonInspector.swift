import CloisterCodec
import CloisterFormats
import CloisterModel
import CloisterSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The container and VM daemons' configuration, as the host shows it: each running dockerd's
/// argv merged with the daemon.json it reads (dockerd refuses to start when a setting is given
/// both ways, so the two never disagree), containerd's socket, libvirt's qemu.conf; and the
/// ownership and mode of the sockets and files that guard them. Only read, never asked of the
/// daemon: a scan must not depend on the API it audits.
enum DaemonInspector {
    static func inspect(root: HostRoot, processes: [ProcessRecord]) -> [DaemonFacts] {
        let groups = root.readTextIfPresent("/etc/group").map(GroupFile.names) ?? [:]
        var result: [DaemonFacts] = []
        for record in processes.filter({ $0.executableName == "dockerd" }).sorted(by: { $0.pid < $1.pid }) {
            result.append(docker(root: root, record: record, groups: groups))
        }
        for record in processes.filter({ $0.executableName == "containerd" }).sorted(by: { $0.pid < $1.pid }) {
            let options = DaemonArguments(record.command)
            let socket = options.value(["--address", "-a"]) ?? "/run/containerd/containerd.sock"
            var facts = DaemonFacts(daemon: "containerd", pid: record.pid, command: record.command)
            if let file = fileFacts(root: root, path: socket, role: "socket", groups: groups) { facts.files.append(file) }
            let configFile = options.value(["--config", "-c"]) ?? "/etc/containerd/config.toml"
            if let text = root.readTextIfPresent(configFile) {
                facts.configFile = configFile
                for (key, setting) in ContainerdConfig.settings(text, file: configFile) { facts.settings[key] = setting }
            }
            result.append(facts)
        }
        result += libvirt(root: root, processes: processes)
        result += PodmanConfigInspector.inspect(root: root)
        return result
    }

    /// dockerd's options that a host rule reads, as `--flag` on the command line and `key` in
    /// daemon.json (dockerd's own names: `--host`/`hosts`, `--authorization-plugin`/`authorization-plugins`).
    static let dockerOptions: [(flag: String, short: String?, key: String, isBool: Bool, isList: Bool)] = [
        ("--icc", nil, "icc", true, false),
        ("--host", "-H", "hosts", false, true),
        ("--tlsverify", nil, "tlsverify", true, false),
        ("--tls", nil, "tls", true, false),
        ("--userns-remap", nil, "userns-remap", false, false),
        ("--live-restore", nil, "live-restore", true, false),
        ("--userland-proxy", nil, "userland-proxy", true, false),
        ("--no-new-privileges", nil, "no-new-privileges", true, false),
        ("--seccomp-profile", nil, "seccomp-profile", false, false),
        ("--authorization-plugin", nil, "authorization-plugins", false, true),
        ("--log-level", "-l", "log-level", false, false),
        ("--group", "-G", "group", false, false),
    ]

    static func docker(root: HostRoot, record: ProcessRecord, groups: [UInt32: String]) -> DaemonFacts {
        var facts = DaemonFacts(daemon: "dockerd", pid: record.pid, command: record.command)
        facts.settings = DockerArgv.settings(record.command)
        let configFile = DaemonArguments(record.command).value(["--config-file"]) ?? "/etc/docker/daemon.json"
        if let bytes = try? Files.read(root.path(configFile), limit: 1 << 20) {
            facts.configFile = configFile
            switch root.parsed(bytes, path: configFile, { DockerDaemonJSON.settings($0, file: configFile) }) {
            case .success(let settings):
                for (key, setting) in settings where facts.settings[key] == nil { facts.settings[key] = setting }
            case .failure(let why):
                facts.unknown["daemon.json"] = why.description
            }
            if let file = fileFacts(root: root, path: configFile, role: "config", groups: groups) { facts.files.append(file) }
        }
        if let directory = fileFacts(root: root, path: "/etc/docker", role: "config-directory", groups: groups) {
            facts.files.append(directory)
        }
        // Every UNIX socket it listens on (the default when no host is given).
        let hosts = facts.settings["hosts"]?.values ?? []
        let sockets = hosts.isEmpty ? ["/run/docker.sock"]
            : hosts.compactMap { $0.hasPrefix("unix://") ? String($0.dropFirst("unix://".count)) : nil }
        for socket in sockets {
            if let file = fileFacts(root: root, path: socket, role: "socket", groups: groups) { facts.files.append(file) }
        }
        return facts
    }

    /// The system libvirt daemons' QEMU driver: the monolithic `libvirtd` or the modular
    /// `virtqemud`, run as root (a session daemon reads its user's own file instead).
    static let libvirtDaemons: Set<String> = ["libvirtd", "virtqemud"]
    static let qemuConfPath = "/etc/libvirt/qemu.conf"

    /// qemu.conf for each running system libvirt daemon, read as that daemon sees it (through
    /// its root, which may be another mount namespace's), or the host's file when none runs.
    static func libvirt(root: HostRoot, processes: [ProcessRecord]) -> [DaemonFacts] {
        let daemons = processes.filter { libvirtDaemons.contains($0.executableName) && $0.status.uids.dropFirst().first == 0 }
            .sorted { $0.pid < $1.pid }
        guard !daemons.isEmpty else {
            guard let text = root.readTextIfPresent(qemuConfPath) else { return [] }
            return [libvirtFacts(root: root, text: text, pid: nil, command: [])]
        }
        return daemons.map { record in
            switch libvirtQemuConfText(root: root, daemon: record.pid) {
            case .success(let text?):
                return libvirtFacts(root: root, text: text, pid: record.pid, command: record.command)
            case .success(nil):
                // No qemu.conf in the daemon's root: libvirt's built-in defaults, all of them safe.
                return DaemonFacts(daemon: "libvirt", pid: record.pid, command: record.command)
            case .failure(let why):
                var facts = DaemonFacts(daemon: "libvirt", pid: record.pid, command: record.command)
                facts.unknown["qemu.conf"] = why.description
                return facts
            }
        }
    }

    struct Unread: Error, CustomStringConvertible { var description: String }

    /// The text of qemu.conf as the daemon `pid` reads it: inside its root on a live host (every
    /// lookup confined there), the host tree's file otherwise. nil when the daemon has none, so
    /// libvirt's built-in defaults apply.
    static func libvirtQemuConfText(root: HostRoot, daemon pid: Int?) -> Result<String?, Unread> {
        guard let pid, root.isLive, RootedDirectory.isSupported else { return .success(root.readTextIfPresent(qemuConfPath)) }
        do {
            let rooted = try RootedDirectory(path: root.pid(pid) + "/root")
            return .success(String(decoding: try rooted.read(String(qemuConfPath.dropFirst())), as: UTF8.self))
        } catch let error as SystemError where error.isGone {
            return .success(nil)
        } catch {
            return .failure(Unread(description: "\(qemuConfPath) of libvirt daemon \(pid) cannot be read: \(error)"))
        }
    }

    /// The qemu.conf that settles libvirt domains' host-wide settings on this host: the running
    /// system daemon's (the lowest PID), or the host's file. `why` says what was not read.
    static func libvirtQemuConf(root: HostRoot, processes: [ProcessRecord]) -> (conf: LibvirtQemuConf?, why: String?) {
        let daemon = processes.filter { libvirtDaemons.contains($0.executableName) && $0.status.uids.dropFirst().first == 0 }
            .map(\.pid).min()
        switch libvirtQemuConfText(root: root, daemon: daemon) {
        case .success(let text?):
            do {
                return (try root.parsed(text: text, path: qemuConfPath) { (text) throws(DocumentError) in
                    try LibvirtQemuConf.parse(text, file: qemuConfPath)
                }, nil)
            } catch {
                return (nil, "\(qemuConfPath):\(error.line.map(String.init) ?? "?"): \(error.message)")
            }
        case .success(nil):
            // No file: every setting is libvirt's default, which an empty file states.
            return (LibvirtQemuConf(file: qemuConfPath, settings: [:]), nil)
        case .failure(let why):
            return (nil, why.description)
        }
    }

    static func libvirtFacts(root: HostRoot, text: String, pid: Int?, command: [String]) -> DaemonFacts {
        let path = qemuConfPath
        var facts = DaemonFacts(daemon: "libvirt", pid: pid, command: command, configFile: path)
        do {
            let conf = try root.parsed(text: text, path: path) { (text) throws(DocumentError) in
                try LibvirtQemuConf.parse(text, file: path)
            }
            for (name, setting) in conf.settings {
                facts.settings[name] = DaemonSetting(
                    setting.isList ? setting.value.split(separator: ",").map(String.init) : [setting.value],
                    source: "\(path):\(setting.line)")
            }
        } catch {
            facts.unknown["qemu.conf"] = "\(path):\(error.line.map(String.init) ?? "?"): \(error.message)"
        }
        return facts
    }

    static func fileFacts(root: HostRoot, path: String, role: String, groups: [UInt32: String]) -> FileFacts? {
        guard path.hasPrefix("/"), let status = try? Files.status(root.path(path)) else { return nil }
        return FileFacts(
            role: role, path: path, uid: status.uid, gid: status.gid, group: groups[status.gid],
            mode: "0" + String(status.mode & 0o7777, radix: 8))
    }
}

/// dockerd's command line, for the options a host rule reads (pflag syntax: `--flag=value`,
/// `--flag value`, a bare boolean `--flag` meaning true, `-H` repeatable).
public enum DockerArgv {
    public static func settings(_ arguments: [String]) -> [String: DaemonSetting] {
        var result: [String: DaemonSetting] = [:]
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { break }
            for option in DaemonInspector.dockerOptions {
                var value: String?
                if argument == option.flag || (option.short.map { argument == $0 } ?? false) {
                    if option.isBool {
                        value = "true"
                    } else if index + 1 < arguments.count {
                        value = arguments[index + 1]
                        index += 1
                    }
                } else if argument.hasPrefix(option.flag + "=") {
                    value = String(argument.dropFirst(option.flag.count + 1))
                } else if let short = option.short, argument.hasPrefix(short), argument.count > 2, !argument.hasPrefix("--") {
                    value = String(argument.dropFirst(2))
                }
                guard let value else { continue }
                if option.isList {
                    result[option.key, default: DaemonSetting([], source: "argv")].values.append(value)
                } else {
                    result[option.key] = DaemonSetting([value], source: "argv")
                }
                break
            }
            index += 1
        }
        return result
    }
}

/// Docker's daemon.json, for the keys a host rule reads, each with its line. A file that is not
/// a JSON object is reported with why, never guessed.
public enum DockerDaemonJSON {
    public static func settings(_ bytes: [UInt8], file: String) -> Result<[String: DaemonSetting], DaemonFileError> {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(DaemonFileError(description: "\(file) is not UTF-8 text"))
        }
        let document: DocNode
        do {
            document = try JSONDocument.parse(text)
        } catch {
            return .failure(DaemonFileError(description: "\(file):\(error.line.map(String.init) ?? "?"): not JSON: \(error.message)"))
        }
        guard let entries = document.entries else {
            return .failure(DaemonFileError(description: "\(file) is not a JSON object"))
        }
        var result: [String: DaemonSetting] = [:]
        for option in DaemonInspector.dockerOptions {
            guard let entry = entries.last(where: { $0.key == option.key }), !entry.value.isNull else { continue }
            let values = entry.value.elements.map { $0.compactMap(\.text) } ?? entry.value.text.map { [$0] } ?? []
            result[option.key] = DaemonSetting(values, source: "\(file):\(entry.keyLine)")
        }
        return .success(result)
    }
}

public struct DaemonFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// containerd's config.toml, for the few keys a host rule reads: `[table]` headers (quoted
/// segments such as `plugins."io.containerd.grpc.v1.cri"` unquoted) and `key = value` lines
/// whose value is a string, boolean or number, each as `table.key` with its line. Arrays and
/// inline tables are skipped: no rule reads them.
public enum ContainerdConfig {
    public static func settings(_ text: String, file: String) -> [String: DaemonSetting] {
        var result: [String: DaemonSetting] = [:]
        var table = ""
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = rawLine.trimmedOf(" \t")
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                let inner = line.trimmedOf("[] \t")
                table = splitKey(inner).joined(separator: ".")
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = splitKey(line[..<equals].trimmedOf(" \t")).joined(separator: ".")
            var value = line[line.index(after: equals)...].trimmedOf(" \t")
            if value.hasPrefix("\""), let close = value.dropFirst().firstIndex(of: "\"") {
                value = String(value[value.index(after: value.startIndex)..<close])
            } else if value.hasPrefix("'"), let close = value.dropFirst().firstIndex(of: "'") {
                value = String(value[value.index(after: value.startIndex)..<close])
            } else if value.hasPrefix("[") || value.hasPrefix("{") {
                continue
            } else if let hash = value.firstIndex(of: "#") {
                value = value[..<hash].trimmedOf(" \t")
            }
            let full = table.isEmpty ? key : table + "." + key
            result[full] = DaemonSetting([value], source: "\(file):\(lineNumber)")
        }
        return result
    }

    /// `a."b.c".d` → `a`, `b.c`, `d`.
    static func splitKey(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                parts.append(current.trimmedOf(" \t"))
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current.trimmedOf(" \t"))
        return parts
    }
}

/// /etc/group: `name:password:GID:members`.
enum GroupFile {
    static func names(_ text: String) -> [UInt32: String] {
        var result: [UInt32: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, let gid = UInt32(fields[2]), result[gid] == nil else { continue }
            result[gid] = String(fields[0])
        }
        return result
    }
}
