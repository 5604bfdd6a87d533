import CloisterModel
import CloisterSystem
import Foundation
import Testing
@testable import CloisterInspect

/// The daemons' configuration as the scanner records it: dockerd's argv in pflag syntax, its
/// daemon.json with each key's line, libvirt's qemu.conf with each setting's line, and the
/// modes of the files that guard them.
@Suite("Daemon configuration facts")
struct DaemonInspectorTests {
    @Test("dockerd's argv: --flag=value, --flag value, bare booleans, repeated -H")
    func argv() {
        let settings = DockerArgv.settings([
            "/usr/bin/dockerd", "-H", "unix:///run/docker.sock", "--host=tcp://0.0.0.0:2375", "--icc=false", "--live-restore",
            "--userns-remap", "default", "-ldebug", "--authorization-plugin=authz-broker", "--", "--icc=true",
        ])
        #expect(settings["hosts"]?.values == ["unix:///run/docker.sock", "tcp://0.0.0.0:2375"])
        #expect(settings["icc"]?.value == "false")
        #expect(settings["live-restore"]?.value == "true")
        #expect(settings["userns-remap"]?.value == "default")
        #expect(settings["log-level"]?.value == "debug")
        #expect(settings["authorization-plugins"]?.values == ["authz-broker"])
        #expect(settings["icc"]?.source == "argv")
    }

    @Test("daemon.json: values with their lines; a file that is not JSON is said so")
    func daemonJSON() throws {
        let text = "{\n  \"icc\": false,\n  \"hosts\": [\"unix:///run/docker.sock\", \"tcp://127.0.0.1:2376\"],\n  \"tlsverify\": true\n}\n"
        let settings = try DockerDaemonJSON.settings(Array(text.utf8), file: "/etc/docker/daemon.json").get()
        #expect(settings["icc"] == DaemonSetting(["false"], source: "/etc/docker/daemon.json:2"))
        #expect(settings["hosts"]?.values == ["unix:///run/docker.sock", "tcp://127.0.0.1:2376"])
        #expect(settings["tlsverify"]?.value == "true")
        let broken = DockerDaemonJSON.settings(Array("{\"icc\": fals".utf8), file: "/etc/docker/daemon.json")
        guard case .failure(let why) = broken else {
            Issue.record("a broken daemon.json was read")
            return
        }
        #expect(why.description.contains("/etc/docker/daemon.json"))
    }

    @Test("containerd's config.toml: table.key with its line; quoted table segments; arrays skipped")
    func containerdConfig() {
        let text = """
            version = 2
            [grpc]
              address = "/run/containerd/containerd.sock"
              tcp_address = "0.0.0.0:10010"  # remote clients
            [plugins."io.containerd.grpc.v1.cri"]
              disable_apparmor = true
              sandbox_image = 'registry.k8s.io/pause:3.6'
              cni_conf_dirs = ["/etc/cni/net.d"]
            """
        let settings = ContainerdConfig.settings(text, file: "/etc/containerd/config.toml")
        #expect(settings["grpc.tcp_address"] == DaemonSetting(["0.0.0.0:10010"], source: "/etc/containerd/config.toml:4"))
        #expect(settings["plugins.io.containerd.grpc.v1.cri.disable_apparmor"]?.value == "true")
        #expect(settings["plugins.io.containerd.grpc.v1.cri.sandbox_image"]?.value == "registry.k8s.io/pause:3.6")
        #expect(settings["plugins.io.containerd.grpc.v1.cri.cni_conf_dirs"] == nil)
        #expect(settings["version"]?.value == "2")
    }

    @Test("libvirt's qemu.conf under the host root: each setting with its line")
    func qemuConf() throws {
        var template = Array("/tmp/cloister-daemons-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let root = String(cString: try #require(made))
        defer { _ = system("rm -rf '\(root)'") }
        let here = #filePath
        let fixture = String(here[..<here.lastIndex(of: "/")!]) + "/../CloisterCheckTests/Fixtures/libvirt/qemu.conf"
        let text = try String(contentsOfFile: fixture, encoding: .utf8) + "security_driver = \"none\"\nuser = \"root\"\n"
        #expect(system("mkdir -p '\(root)/etc/libvirt'") == 0)
        try Files.writeAtomically(Array(text.utf8), to: root + "/etc/libvirt/qemu.conf")
        let facts = try #require(DaemonInspector.libvirt(root: HostRoot(prefix: root), processes: []).first)
        #expect(facts.settings["vnc_listen"] == DaemonSetting(["0.0.0.0"], source: "/etc/libvirt/qemu.conf:3"))
        #expect(facts.settings["vnc_tls"]?.value == "1")
        // The later setting wins, as libvirt reads the file.
        #expect(facts.settings["security_driver"]?.values == ["none"])
        #expect(facts.settings["user"]?.value == "root")
        #expect(facts.unknown.isEmpty)
    }
}
