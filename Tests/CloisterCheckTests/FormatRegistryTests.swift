import CloisterCheck
import CloisterCodec
import CloisterFormats
import Foundation
import Testing

@Suite("Format registry")
struct FormatRegistryTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("Each format has its own name and is read from the files it is kept in")
    func namesAndEndings() {
        let names = FormatRegistry.formats.map { $0.name }
        #expect(Set(names).count == names.count)
        for format in FormatRegistry.formats {
            #expect(!format.syntaxes.isEmpty, "\(format.name)")
            for ending in format.fileEndings { #expect(Check.directoryExtensions.contains(ending), "\(format.name): .\(ending)") }
            let ending = String(format.exampleFile.split(separator: ".").last ?? "")
            #expect(format.fileEndings.contains(ending), "\(format.name): \(format.exampleFile)")
        }
    }

    @Test("Every format has its fuzz target in Fuzz/Package.swift, with its entry point")
    func everyFormatIsFuzzed() throws {
        let manifest = try String(contentsOf: Self.repository.appendingPathComponent("Fuzz/Package.swift"), encoding: .utf8)
        for format in FormatRegistry.formats {
            #expect(manifest.contains("\"\(format.name)\""), "Fuzz/Package.swift lists no target \(format.name)")
            let entry = Self.repository.appendingPathComponent("Fuzz/Sources/fuzz-\(format.name)/Entry.swift").path
            #expect(FileManager.default.fileExists(atPath: entry), "\(entry) is missing")
        }
    }

    @Test("A document no format recognises is named with every format its syntax could have been")
    func unrecognizedNamesEveryCandidate() {
        let json = Check.check(contents: #"{"name": "x"}"#, file: "x.json")
        let jsonMessage = try? #require(json.errors.first?.message)
        for format in FormatRegistry.formats where format.syntaxes.contains(.json) {
            #expect(jsonMessage?.contains(format.signature) == true, "\(format.name)")
        }
        #expect(json.errors.first?.isUnrecognizedFormat == true)

        let yaml = Check.check(contents: "name: x\n", file: "x.yaml")
        #expect(yaml.errors.first?.message.contains(ComposeFormat.signature) == true)
        #expect(yaml.errors.first?.message.contains(OCIConfigFormat.signature) == true)
        #expect(yaml.errors.first?.isUnrecognizedFormat == true)

        let xml = Check.check(contents: "<network><name>n</name></network>", file: "n.xml")
        #expect(xml.errors.first?.message == "is XML but not \(LibvirtFormat.signature): its root element is <network>")
        #expect(xml.errors.first?.isUnrecognizedFormat == true)
    }

    @Test("Each document goes to the format that recognises it, in registry order")
    func recognition() throws {
        let oci = try JSONDocumentTree.parse(#"{"ociVersion": "1.0.2", "kind": "Pod", "apiVersion": "v1"}"#)
        #expect(FormatRegistry.format(of: oci)?.name == OCIConfigFormat.name)
        let pod = try JSONDocumentTree.parse(#"{"kind": "Pod", "apiVersion": "v1", "services": {}}"#)
        #expect(FormatRegistry.format(of: pod)?.name == KubernetesFormat.name)
        let words = try #require(QemuFormat.commandLine(in: "# a guest\n/usr/bin/qemu-system-x86_64 \\\n  -m 512\n"))
        #expect(FormatRegistry.format(of: .commandLine(words))?.name == QemuFormat.name)
        #expect(QemuFormat.commandLine(in: "services:\n  web: {}\n") == nil)
        #expect(QemuFormat.commandLine(in: "A=1 \\\nB=2\n") == nil)
    }

    @Test("A qemu command line as libvirt logs it, the environment on lines before the binary")
    func libvirtLogCommandLine() throws {
        let text = """
            LC_ALL=C \\
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \\
            HOME=/var/lib/libvirt/qemu/domain-1-guest \\
            /usr/bin/qemu-system-x86_64 \\
            -name guest=guest,debug-threads=on \\
            -accel kvm \\
            -vnc 0.0.0.0:0

            """
        let result = Check.check(contents: text, file: "guest.log")
        #expect(result.errors.isEmpty)
        let posture = try #require(result.workloads.first)
        #expect(posture.kind == .vm)
        #expect(posture.hypervisor?.consoles.contains { $0.kind == "vnc" && $0.localOnly == false } == true)
        // Findings land on the binary's line, not on the environment's.
        #expect(posture.location?.line == 4)
    }
}

/// A JSON text as the registry sees it.
enum JSONDocumentTree {
    static func parse(_ text: String) throws -> ParsedDocument {
        .tree(try JSONDocument.parse(text), .json)
    }
}
