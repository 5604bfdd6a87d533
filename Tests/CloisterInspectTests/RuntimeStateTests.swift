import Testing
@testable import CloisterInspect
import CloisterSystem
#if canImport(Glibc)
import Glibc
#endif

/// Engines' state files, in the shapes those engines write (Docker's config.v2.json, the CRI
/// annotations containerd and CRI-O put in each bundle's config.json, libvirt's status XML,
/// crun's status file). runc's state.json comes from the captured hybrid-host tree.
@Suite struct RuntimeStateTests {
    let id = String(repeating: "0f1e", count: 16)

    func tree(_ files: [String: String]) throws -> String {
        var template = Array("/tmp/cloister-state-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let root = String(cString: try #require(made))
        for (path, content) in files {
            let full = root + path
            let directory = String(full[..<full.lastIndex(of: "/")!])
            #expect(system("mkdir -p '\(directory)'") == 0)
            try Files.writeAtomically(Array(content.utf8), to: full)
        }
        return root
    }

    @Test func runcStateFromCapturedHost() throws {
        let state = RuntimeState.load(root: HostRoot(prefix: FixtureScanTests.fixture("hybrid-host")))
        // podman ran these three through runc; discovery prefers the cgroup's libpod ID.
        #expect(state.runcByPID[18041]?.id == "5fc152a36169f69d281f72df9583bcc81ce76e72dc2020cdcc8ac4d3f02a20ae")
        #expect(state.runcByPID.count == 3)
    }

    @Test func dockerAndCRINames() throws {
        let root = try tree([
            "/var/lib/docker/containers/\(id)/config.v2.json": #"{"ID":"\#(id)","Name":"/web-frontend","State":{"Pid":4242}}"#,
            "/run/containerd/io.containerd.runtime.v2.task/k8s.io/\(id)/config.json": #"{"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-name":"shop-7d9c","io.kubernetes.cri.sandbox-namespace":"prod","io.kubernetes.cri.sandbox-id":"\#(String(repeating: "ab", count: 32))"}}"#,
            "/run/containers/storage/overlay-containers/\(id)/userdata/config.json": #"{"annotations":{"io.kubernetes.pod.name":"db-0","io.kubernetes.container.name":"postgres","io.kubernetes.pod.namespace":"data"}}"#,
        ])
        defer { _ = system("rm -rf '\(root)'") }
        let host = HostRoot(prefix: root)
        let state = RuntimeState()
        #expect(state.dockerName(id: id, root: host) == "web-frontend")
        #expect(state.criName(id: id, runtime: "containerd", root: host) == "prod/shop-7d9c/app")
        #expect(state.criName(id: id, runtime: "cri-o", root: host) == "data/db-0/postgres")
        // The pod sandbox, whose hosts, hostname and resolv.conf containerd gives the container.
        #expect(state.criIdentity(id: id, runtime: "containerd", root: host).sandboxID == String(repeating: "ab", count: 32))
        #expect(state.criIdentity(id: id, runtime: "cri-o", root: host).sandboxID == nil)
        #expect(state.dockerName(id: "missing", root: host) == nil)
    }

    @Test func libvirtAndCrunState() throws {
        let root = try tree([
            "/run/libvirt/qemu/web-vm.xml": """
                <!--
                WARNING: THIS IS AN AUTO-GENERATED FILE.
                -->
                <domstatus state='running' reason='booted' pid='5150'>
                  <taint flag='high-privileges'/>
                  <monitor path='/var/lib/libvirt/qemu/domain-1-web-vm/monitor.sock' type='unix'/>
                  <domain type='kvm' id='1'>
                    <name>web-vm</name>
                    <uuid>3c5b8d6e-59a1-4f2b-9b1e-0f6f2f8a2c11</uuid>
                    <seclabel type='dynamic' model='selinux' relabel='yes'>
                      <label>system_u:system_r:svirt_t:s0:c392,c662</label>
                    </seclabel>
                  </domain>
                </domstatus>
                """,
            "/run/crun/box/status": #"{"pid":6160,"process-start-time":123,"cgroup-path":"/box","rootfs":"/srv/box","systemd-cgroup":false}"#,
            "/run/runc/broken/state.json": "{not json",
        ])
        defer { _ = system("rm -rf '\(root)'") }
        let state = RuntimeState.load(root: HostRoot(prefix: root))
        #expect(state.libvirtByPID[5150]?.name == "web-vm")
        #expect(state.libvirtByPID[5150]?.uuid == "3c5b8d6e-59a1-4f2b-9b1e-0f6f2f8a2c11")
        #expect(state.runcByPID[6160]?.runtime == "crun")
        #expect(state.runcByPID[6160]?.id == "box")
        // A corrupt state file is skipped, not fatal.
        #expect(state.runcByPID.count == 1)
    }

    func dockerd(_ arguments: [String]) -> ProcessRecord {
        ProcessRecord(
            pid: 900, parentPID: 1, name: "dockerd", command: ["/usr/sbin/dockerd"] + arguments, namespaces: [:],
            cgroups: [], status: ProcStatus())
    }

    @Test func dockerNameUnderUsernsRemap() throws {
        let root = try tree([
            "/var/lib/docker/100000.100000/containers/\(id)/config.v2.json": #"{"Name":"/remapped"}"#,
            "/var/lib/docker/100000.100000x/containers/\(String(repeating: "a", count: 64))/config.v2.json": #"{"Name":"/decoy"}"#,
        ])
        defer { _ = system("rm -rf '\(root)'") }
        let host = HostRoot(prefix: root)
        let state = RuntimeState.load(root: host, processes: [dockerd(["--userns-remap=default"])])
        #expect(state.dockerDataRoots == ["/var/lib/docker"])
        #expect(state.dockerName(id: id, root: host) == "remapped")
        // Only `UID.GID` directories are remap roots.
        #expect(state.dockerName(id: String(repeating: "a", count: 64), root: host) == nil)
    }

    @Test func dockerDataRootFromArgumentsOrDaemonJSON() throws {
        let root = try tree([
            "/srv/docker/containers/\(id)/config.v2.json": #"{"Name":"/from-flag"}"#,
            "/data/engine/containers/\(id)/config.v2.json": #"{"Name":"/from-json"}"#,
            "/etc/docker/daemon.json": #"{"data-root": "/data/engine", "icc": false}"#,
            "/opt/d.json": #"{"data-root": "/srv/docker"}"#,
        ])
        defer { _ = system("rm -rf '\(root)'") }
        let host = HostRoot(prefix: root)
        for arguments in [["--data-root", "/srv/docker"], ["--data-root=/srv/docker"], ["-g", "/srv/docker"], ["--config-file", "/opt/d.json"]] {
            let state = RuntimeState.load(root: host, processes: [dockerd(["--iptables=false"] + arguments)])
            #expect(state.dockerDataRoots == ["/srv/docker"], "\(arguments)")
            #expect(state.dockerName(id: id, root: host) == "from-flag", "\(arguments)")
        }
        // No dockerd running: daemon.json says where its state is.
        let state = RuntimeState.load(root: host)
        #expect(state.dockerDataRoots == ["/data/engine"])
        #expect(state.dockerName(id: id, root: host) == "from-json")
    }

    @Test func containerdRuncRootIsContainerd() throws {
        let root = try tree([
            "/run/containerd/runc/default/web/state.json": #"{"id":"web","init_process_pid":7001,"init_process_start":1}"#,
            "/run/docker/runtime-runc/moby/\(id)/state.json": #"{"id":"\#(id)","init_process_pid":7002,"init_process_start":1}"#,
            "/run/runc/plain/state.json": #"{"id":"plain","init_process_pid":7003,"init_process_start":1}"#,
        ])
        defer { _ = system("rm -rf '\(root)'") }
        let state = RuntimeState.load(root: HostRoot(prefix: root))
        #expect(state.runcByPID[7001]?.runtime == "containerd")
        #expect(state.runcByPID[7001]?.ociRuntime == "runc")
        #expect(state.runcByPID[7002]?.runtime == "docker")
        #expect(state.runcByPID[7003]?.runtime == "runc")
    }

    @Test("the OCI runtime is told by the state it wrote, whatever name the engine gave it")
    func ociRuntimeFromStateFormat() throws {
        let other = String(repeating: "1a2b", count: 16)
        let root = try tree([
            // Docker with `--add-runtime crun=/usr/bin/crun`: crun writes `status` in Docker's root.
            "/run/docker/runtime-crun/moby/\(id)/status": #"{"pid":7101,"process-start-time":1,"cgroup-path":"/x","rootfs":"/r","systemd-cgroup":false}"#,
            // A wrapper registered under another name that runs runc: runc's state.json.
            "/run/docker/runtime-cloister-wrap/moby/\(other)/state.json": #"{"id":"\#(other)","init_process_pid":7102,"init_process_start":1}"#,
            // youki's own root: the OCI state's keys.
            "/run/youki/box/state.json": #"{"ociVersion":"v1.0.2","id":"box","status":"running","pid":7103,"bundle":"/srv/box","annotations":{},"created":"2026-01-01T00:00:00Z","creator":0,"useSystemd":false}"#,
            // Not a runtime's root: ignored.
            "/run/docker/plugins/x/state.json": #"{"init_process_pid":7199}"#,
        ])
        defer { _ = system("rm -rf '\(root)'") }
        let state = RuntimeState.load(root: HostRoot(prefix: root))
        #expect(state.runcByPID[7101]?.runtime == "docker")
        #expect(state.runcByPID[7101]?.ociRuntime == "crun")
        #expect(state.runcByPID[7102]?.runtime == "docker")
        #expect(state.runcByPID[7102]?.ociRuntime == "runc")
        #expect(state.runcByPID[7103]?.runtime == "youki")
        #expect(state.runcByPID[7103]?.ociRuntime == "youki")
        #expect(state.runcByPID[7199] == nil)
        // dockerd's --exec-root (or daemon.json's exec-root) moves every runtime's root.
        let moved = try tree(["/srv/exec/runtime-runc/moby/\(id)/state.json": #"{"id":"\#(id)","init_process_pid":7201,"init_process_start":1}"#])
        defer { _ = system("rm -rf '\(moved)'") }
        let withFlag = RuntimeState.load(root: HostRoot(prefix: moved), processes: [dockerd(["--exec-root=/srv/exec"])])
        #expect(withFlag.runcByPID[7201]?.runtime == "docker")
        #expect(withFlag.runcByPID[7201]?.ociRuntime == "runc")
        #expect(RuntimeState.load(root: HostRoot(prefix: moved)).runcByPID[7201] == nil)
        // runc's state never passes for youki's.
        #expect(EngineStateParser.youkiPID(state: Array(#"{"id":"x","init_process_pid":5,"config":{"pid":9}}"#.utf8)) == nil)
    }

    func record(_ pid: Int, parent: Int, _ command: [String], cgroup: String = "/") -> ProcessRecord {
        ProcessRecord(
            pid: pid, parentPID: parent, name: String((command.first ?? "").split(separator: "/").last ?? ""),
            command: command, namespaces: [:], cgroups: [CgroupMembership(hierarchy: 0, controllers: [], path: cgroup)],
            status: ProcStatus())
    }

    @Test("the OCI runtime from the supervisor's argv: conmon's -r, the containerd shim's name")
    func ociRuntimeFromSupervisor() throws {
        let podmanID = String(repeating: "c0", count: 32)
        let dockerID = String(repeating: "d0", count: 32)
        let table = [
            100: record(100, parent: 1, ["/usr/bin/conmon", "--api-version", "1", "-c", podmanID, "-n", "web", "-r", "/usr/bin/crun"]),
            101: record(101, parent: 100, ["nginx"], cgroup: "/machine.slice/libpod-\(podmanID).scope"),
            200: record(200, parent: 1, ["/usr/bin/containerd-shim-runsc-v1", "-namespace", "moby", "-id", dockerID]),
            201: record(201, parent: 200, ["runsc-sandbox"], cgroup: "/system.slice/docker-\(dockerID).scope"),
        ]
        let discovery = Discovery(root: HostRoot(prefix: "/nonexistent"), table: table, hostNamespaces: [:])
        let found = discovery.discover(state: RuntimeState())
        let podman = try #require(found.first { $0.runtime == "podman" })
        #expect(podman.attributes["ociRuntime"] == "crun")
        #expect(podman.name == "web")
        let docker = try #require(found.first { $0.runtime == "docker" })
        #expect(docker.attributes["ociRuntime"] == "runsc")
        // A containerd-shim-runc-v2 may drive crun (its BinaryName option): its name decides nothing.
        let runcShim = [
            300: record(300, parent: 1, ["/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", dockerID]),
            301: record(301, parent: 300, ["sh"], cgroup: "/system.slice/docker-\(dockerID).scope"),
        ]
        let unnamed = Discovery(root: HostRoot(prefix: "/nonexistent"), table: runcShim, hostNamespaces: [:])
            .discover(state: RuntimeState())
        #expect(unnamed.first?.attributes["ociRuntime"] == nil)
        #expect(OCIRuntimeName.normalized("kata-runtime") == "kata")
    }

    @Test func daemonArgumentSpellings() {
        let arguments = DaemonArguments(["systemd-nspawn", "--register=no", "-Mbox", "-D", "/srv/tree", "--", "-M", "spoof"])
        #expect(arguments.value(["--machine", "-M"]) == "box")
        #expect(arguments.value(["--directory", "-D"]) == "/srv/tree")
        #expect(DaemonArguments(["x", "--machine=web"]).value(["--machine", "-M"]) == "web")
        #expect(DaemonArguments(["x", "--", "--machine=web"]).value(["--machine", "-M"]) == nil)
        #expect(DaemonArguments(["x", "--machinex=web"]).value(["--machine", "-M"]) == nil)
    }
}
