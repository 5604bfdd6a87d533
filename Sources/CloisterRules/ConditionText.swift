import CloisterCodec

/// A condition written back as one readable line, for `rules show`.
extension Condition: CustomStringConvertible {
    public var description: String {
        switch self {
        case .all(let parts): "all(" + parts.map(\.description).joined(separator: ", ") + ")"
        case .any(let parts): "any(" + parts.map(\.description).joined(separator: ", ") + ")"
        case .not(let part): "not(" + part.description + ")"
        case .test(let test): test.description
        }
    }
}

extension FieldTest: CustomStringConvertible {
    public var description: String {
        let field = self.field.relative
        func list(_ values: [JSONValue]) -> String { "[" + values.map(\.text).joined(separator: ", ") + "]" }
        switch op {
        case .equals(let value): return "\(field) equals \(value.text)"
        case .isIn(let values): return "\(field) in \(list(values))"
        case .contains(let value): return "\(field) contains \(value.text)"
        case .containsAll(let values): return "\(field) containsAll \(list(values))"
        case .containsAny(let values): return "\(field) containsAny \(list(values))"
        case .anyNotIn(let values): return "\(field) anyNotIn \(list(values))"
        case .startsWith(let prefixes): return "\(field) startsWith [\(prefixes.joined(separator: ", "))]"
        case .under(let directories): return "\(field) under [\(directories.joined(separator: ", "))]"
        case .covers(let paths): return "\(field) covers [\(paths.joined(separator: ", "))]"
        case .absent(let flag): return "\(field) \(flag ? "absent" : "present")"
        case .empty(let flag): return "\(field) \(flag ? "empty" : "not empty")"
        case .greaterThan(let bound): return "\(field) > \(JSONValue.format(bound))"
        case .lessThan(let bound): return "\(field) < \(JSONValue.format(bound))"
        case .whereAny(let inner): return "\(field) where \(inner.description)"
        case .shared: return "\(field) shared with another workload"
        }
    }
}
