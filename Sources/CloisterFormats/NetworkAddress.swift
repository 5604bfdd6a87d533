/// Where a listener or peer address lets connections come from.
public enum NetworkAddress {
    /// True for loopback addresses and names (127.0.0.0/8, ::1, `localhost`); false for the
    /// wildcard (empty host, 0.0.0.0, ::) and for any other address or name, which another
    /// machine may reach.
    public static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name.hasSuffix(".localhost") || name == "ip6-localhost"
            || name == "localhost.localdomain"
        {
            return true
        }
        if name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        if name.hasPrefix("::ffff:") { name = String(name.dropFirst(7)) }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }), octets[0] == "127" {
            return true
        }
        return false
    }

    /// True when `host` means every interface.
    public static func isWildcard(_ host: String) -> Bool {
        ["", "0.0.0.0", "::", "[::]", "*", "0"].contains(host)
    }

    /// `host:port` as people write it: IPv6 in brackets, the wildcard as 0.0.0.0.
    public static func join(host: String, port: String) -> String {
        let shown = host.isEmpty ? "0.0.0.0" : host
        if shown.contains(":"), !shown.hasPrefix("[") { return "[\(shown)]:\(port)" }
        return "\(shown):\(port)"
    }

    /// Splits `host:port`, `[v6]:port` or `:port` at the last colon outside brackets.
    public static func split(_ text: String) -> (host: String, port: String)? {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return (host, "") }
            return (host, String(rest.dropFirst()))
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
