import CloisterCodec
import CloisterModel
import CloisterRules
import Testing

@Suite("Field catalogue")
struct CatalogueTests {
    /// Stored properties left nil or empty in a value, by path.
    func unset(_ value: Any, path: String) -> [String] {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first?.value else { return [path] }
            return unset(wrapped, path: path)
        case .collection:
            guard let first = mirror.children.first?.value else { return [path] }
            return unset(first, path: path + "[]")
        case .dictionary:
            return mirror.children.isEmpty ? [path] : []
        case .struct:
            return mirror.children.flatMap { child in
                unset(child.value, path: path.isEmpty ? (child.label ?? "?") : path + "." + (child.label ?? "?"))
            }
        default:
            return []
        }
    }

    @Test("The sample posture sets every field, so every field of the contract can be addressed")
    func sampleIsComplete() {
        #expect(unset(FieldCatalogue.samplePosture(), path: "") == [])
    }

    @Test("Paths of the JSON contract are known, with their shapes")
    func shapes() {
        let catalogue = FieldCatalogue.posture
        #expect(catalogue.shape(of: "capabilities.effective") == .array(.string))
        #expect(catalogue.shape(of: "mounts[].hostPath") == .string)
        #expect(catalogue.shape(of: "hypervisor.consoles[].address") == .string)
        #expect(catalogue.shape(of: "mac.apparmor.confined") == .bool)
        #expect(catalogue.shape(of: "cgroup.memoryMax") == .limit)
        #expect(catalogue.shape(of: "hypervisor.sandbox.options.spawn") == .string)
        #expect(catalogue.shape(of: "seccomp.threadsUnfiltered") == .number)
        #expect(catalogue.shape(of: "mounts.hostPath") == nil)
    }
}

@Suite("Posture trees")
struct PostureTreeTests {
    @Test("The hand-built tree equals the Codable encoding, for every field and many postures")
    func sameAsEncoder() throws {
        var postures = [FieldCatalogue.samplePosture()]
        postures += WorkloadKind.allCases.map { HardenedPosture.make(kind: $0) }
        postures += RuleBenchmark.syntheticPostures(count: 60)
        var limits = FieldCatalogue.samplePosture()
        limits.cgroup?.memoryMax = .max
        limits.user = UserIdentity()
        limits.seccomp = nil
        limits.hypervisor = nil
        postures.append(limits)
        for posture in postures {
            #expect(PostureTree.make(posture) == (try JSONValue.encode(posture)), "\(posture.id)")
        }
    }
}

@Suite("Field paths")
struct FieldPathTests {
    @Test("Every stored property of Posture has its entry in the rules' tree, named as the JSON names it")
    func everyPropertyInTree() throws {
        let sample = FieldCatalogue.samplePosture()
        guard case .object(let members) = PostureTree.make(sample) else {
            Issue.record("the tree of a posture is not an object")
            return
        }
        let properties = Mirror(reflecting: sample).children.compactMap(\.label)
        #expect(properties.count > 20)
        for property in properties {
            #expect(members[property] != nil, "Posture.\(property) has no entry in PostureTree.make")
        }
    }

    @Test("The paths the scanner and readers report unknown fields by exist in the posture contract")
    func namedPathsExist() {
        for path in FieldPath.named {
            #expect(FieldCatalogue.posture.shape(of: path.absolute) != nil, "\(path) is not a posture field")
        }
    }

    @Test("Unknown fields keep their JSON form: an object keyed by the path")
    func unknownEncoding() throws {
        var posture = Posture(id: "p", kind: .container, runtime: "runc", name: "p")
        posture.unknown = [.seccomp: "unreadable", FieldPath.mounts.element(2).appending("hostPath"): "gone"]
        let tree = try JSONValue.encode(posture)
        #expect(tree["unknown"] == .object(["seccomp": .string("unreadable"), "mounts[2].hostPath": .string("gone")]))
        #expect(FieldPath("mounts[2].hostPath").normalized == "mounts[].hostPath")
    }

    @Test("List indices become [] the same way on the ASCII fast path and by Character")
    func normalizedPaths() {
        #expect(FieldPath("devices[10].path[3]").normalized == "devices[].path[]")
        #expect(FieldPath("seccomp").normalized == "seccomp")
        // Not ASCII: by Character, so a bracket carrying a combining mark opens no index (its
        // closing bracket is still dropped, as it always was).
        #expect(FieldPath("a[\u{301}1].b[2]").normalized == "a[\u{301}1.b[]")
    }
}
