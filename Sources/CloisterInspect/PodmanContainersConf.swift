import CloisterModel
import CloisterSystem

/// Podman's containers.conf, in the order containers.conf(5) gives: the distribution's
/// /usr/share/containers/containers.conf, the administrator's /etc/containers/containers.conf,
/// then /etc/containers/containers.conf.d/*.conf in name order, a later file's key replacing an
/// earlier one's. That is the configuration of root's (rootful) podman: one `podman` entry
/// in the host's daemons. A rootless user's podman reads the same and then
/// ~/.config/containers/containers.conf (and its .conf.d): each user who has one is an entry of
/// its own (`scope` user NAME), since only that user's containers follow it.
enum PodmanConfigInspector {
    static let systemFiles = ["/usr/share/containers/containers.conf", "/etc/containers/containers.conf"]
    static let systemDropIns = "/etc/containers/containers.conf.d"

    static func inspect(root: HostRoot) -> [DaemonFacts] {
        var systemPaths = systemFiles
        systemPaths += dropIns(root: root, directory: systemDropIns)
        let system = read(root: root, paths: systemPaths, facts: DaemonFacts(daemon: "podman"))
        guard let system else { return [] }
        var result = [system.facts]
        // Rootless users: their home's override, only a regular file (a symlink in a user's
        // home is the user's to point anywhere; it is not followed).
        let homes = (root.readTextIfPresent("/etc/passwd") ?? "").split(whereSeparator: \.isNewline).compactMap { line -> (String, String)? in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 7, let uid = UInt32(fields[2]), uid != 0 else { return nil }
            return (String(fields[0]), String(fields[5]))
        }
        for (user, home) in homes where home.hasPrefix("/") && home != "/" {
            let base = home + "/.config/containers"
            var paths = [base + "/containers.conf"]
            paths += dropIns(root: root, directory: base + "/containers.conf.d")
            guard paths.contains(where: { isRegularFile(root: root, $0) }) else { continue }
            var facts = system.facts
            facts.settings["scope"] = DaemonSetting(["user \(user)"], source: base)
            if let user = read(root: root, paths: paths, facts: facts) { result.append(user.facts) }
        }
        return result
    }

    /// Reads `paths` in order over `facts`; nil when none of them exists.
    static func read(root: HostRoot, paths: [String], facts start: DaemonFacts) -> (facts: DaemonFacts, read: Int)? {
        var facts = start
        var read = 0
        for path in paths where isRegularFile(root: root, path) {
            guard let text = try? Files.readText(root.path(path), limit: 1 << 20) else {
                facts.unknown["containers.conf"] = "\(path) could not be read"
                continue
            }
            read += 1
            facts.configFile = path
            switch root.parsed(text: text, path: path, { ContainersConf.settings($0, file: path) }) {
            case .success(let settings):
                for (key, setting) in settings { facts.settings[key] = setting }
            case .failure(let why):
                facts.unknown["containers.conf"] = why.description
            }
        }
        return read == 0 && facts.unknown.isEmpty ? nil : (facts, read)
    }

    static func dropIns(root: HostRoot, directory: String) -> [String] {
        ((try? Files.list(root.path(directory))) ?? []).filter { $0.hasSuffix(".conf") }.sorted().map { directory + "/" + $0 }
    }

    static func isRegularFile(root: HostRoot, _ path: String) -> Bool {
        guard let status = try? Files.status(root.path(path)) else { return false }
        return status.mode & 0o170000 == 0o100000
    }
}

/// containers.conf (TOML), for the `[containers]` keys a host rule reads: strings, booleans and
/// arrays of strings (one line or several), each with its line. A line that is none of these
/// in that table is an error naming the line: a rule must not judge a file it half read.
public enum ContainersConf {
    /// The `[containers]` keys the host rules read.
    public static let keys: Set<String> = [
        "default_capabilities", "seccomp_profile", "apparmor_profile", "userns",
    ]

    public static func settings(_ text: String, file: String) -> Result<[String: DaemonSetting], DaemonFileError> {
        var result: [String: DaemonSetting] = [:]
        var table = ""
        var lineNumber = 0
        var pending: (key: String, line: Int, text: String)?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = stripComment(String(rawLine)).trimmedOf(" \t")
            if var open = pending {
                open.text += " " + line
                pending = open
                guard line.contains("]") else { continue }
                pending = nil
                guard let values = array(open.text) else {
                    return .failure(DaemonFileError(description: "\(file):\(open.line): `\(open.key)` is not an array of strings"))
                }
                result[open.key] = DaemonSetting(values, source: "\(file):\(open.line)")
                continue
            }
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                table = line.trimmedOf("[] \t")
                continue
            }
            guard table == "containers", let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmedOf(" \t\"")
            guard keys.contains(key) else { continue }
            let value = line[line.index(after: equals)...].trimmedOf(" \t")
            if value.hasPrefix("[") {
                if value.contains("]") {
                    guard let values = array(value) else {
                        return .failure(DaemonFileError(description: "\(file):\(lineNumber): `\(key)` is not an array of strings"))
                    }
                    result[key] = DaemonSetting(values, source: "\(file):\(lineNumber)")
                } else {
                    pending = (key, lineNumber, value)
                }
            } else if let text = quoted(value) {
                result[key] = DaemonSetting([text], source: "\(file):\(lineNumber)")
            } else if value == "true" || value == "false" {
                result[key] = DaemonSetting([value], source: "\(file):\(lineNumber)")
            } else {
                return .failure(DaemonFileError(description: "\(file):\(lineNumber): `\(key)` has a value that is not a string, boolean or array: \(value)"))
            }
        }
        if let open = pending {
            return .failure(DaemonFileError(description: "\(file):\(open.line): `\(open.key)`'s array is not closed"))
        }
        return .success(result)
    }

    /// The line without a `#` comment outside quotes.
    static func stripComment(_ line: String) -> String {
        var quote: Character?
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                return String(line[..<index])
            }
        }
        return line
    }

    static func quoted(_ text: String) -> String? {
        guard text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first else { return nil }
        return String(text.dropFirst().dropLast())
    }

    /// `["A", "B",]` → A, B; nil when an element is not a quoted string.
    static func array(_ text: String) -> [String]? {
        guard let open = text.firstIndex(of: "["), let close = text.lastIndex(of: "]"), open < close else { return nil }
        let inner = text[text.index(after: open)..<close]
        var values: [String] = []
        for part in inner.split(separator: ",") {
            let item = part.trimmedOf(" \t")
            if item.isEmpty { continue }
            guard let value = quoted(item) else { return nil }
            values.append(value)
        }
        return values
    }
}
