import CloisterCodec
import Testing
@testable import CloisterInspect
@testable import CloisterModel
import CloisterSystem

@Suite struct ProcStatusTests {
    // From a podman container on this project's Debian 12 host.
    static let podmanStatus = """
        Name:\tsleep
        Umask:\t0022
        State:\tS (sleeping)
        Tgid:\t17518
        NSpid:\t17518\t1
        PPid:\t17506
        TracerPid:\t0
        Uid:\t0\t0\t0\t0
        Gid:\t0\t0\t0\t0
        CapInh:\t0000000000000000
        CapPrm:\t00000000800405fb
        CapEff:\t00000000800405fb
        CapBnd:\t00000000800405fb
        CapAmb:\t0000000000000000
        NoNewPrivs:\t0
        Seccomp:\t2
        Seccomp_filters:\t1
        Threads:\t1
        """

    @Test func parsesConfinementFields() {
        let status = ProcStatus.parse(Self.podmanStatus)
        #expect(status.name == "sleep")
        #expect(status.parentPID == 17506)
        #expect(status.namespacePIDs == [17518, 1])
        #expect(status.capEffective == 0x8004_05fb)
        #expect(status.noNewPrivileges == false)
        #expect(status.seccompMode == .filter)
        #expect(status.seccompFilters == 1)
        #expect(status.tracerPID == 0)
        #expect(ProcStatus.parse("TracerPid:\t4242\n").tracerPID == 4242)
    }

    @Test func capabilitiesDecodeWithLibcapNamesAgainstLastCap() {
        let decoded = CapabilityNames.decode(mask: 0x8004_05fb, lastCap: 40)
        #expect(decoded.names == [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
            "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP",
        ])
        // A bit the running kernel does not know is not given a name.
        let beyond = CapabilityNames.decode(mask: 1 << 45 | 1, lastCap: 40)
        #expect(beyond.names == ["CAP_CHOWN"])
        #expect(beyond.unknownBits == [45])
        #expect(CapabilityNames.number("CAP_SYS_ADMIN") == 21)
    }

    @Test func garbageDoesNotTrap() {
        let status = ProcStatus.parse("Seccomp:\t7\nCapEff:\tzzzz\nUid:\n::::\n\u{0}\u{1B}[2J")
        #expect(status.seccompMode == nil)
        #expect(status.capEffective == nil)
        #expect(status.uids.isEmpty)
    }
}

@Suite struct ProcLimitsTests {
    // /proc/PID/limits of a podman container (--ulimit nofile=512:1024 nproc=4096:4096) on this
    // project's Debian 12 host, kernel 6.18.
    static let captured = """
        Limit                     Soft Limit           Hard Limit           Units     
        Max cpu time              unlimited            unlimited            seconds   
        Max file size             unlimited            unlimited            bytes     
        Max data size             unlimited            unlimited            bytes     
        Max stack size            8388608              unlimited            bytes     
        Max core file size        0                    unlimited            bytes     
        Max resident set          unlimited            unlimited            bytes     
        Max processes             4096                 4096                 processes 
        Max open files            512                  1024                 files     
        Max locked memory         8388608              8388608              bytes     
        Max address space         unlimited            unlimited            bytes     
        Max file locks            unlimited            unlimited            locks     
        Max pending signals       96367                96367                signals   
        Max msgqueue size         819200               819200               bytes     
        Max nice priority         0                    0                    
        Max realtime priority     0                    0                    
        Max realtime timeout      unlimited            unlimited            us        
        """

    @Test func everyRowIsReadWithItsRlimitName() {
        let limits = ProcLimitsParser.parse(Self.captured)
        #expect(limits.count == 16)
        #expect(limits.contains(ResourceLimit(name: "RLIMIT_NOFILE", soft: "512", hard: "1024")))
        #expect(limits.contains(ResourceLimit(name: "RLIMIT_NPROC", soft: "4096", hard: "4096")))
        #expect(limits.contains(ResourceLimit(name: "RLIMIT_STACK", soft: "8388608", hard: "unlimited")))
        // Rows without units (nice, realtime priority) still parse.
        #expect(limits.contains(ResourceLimit(name: "RLIMIT_NICE", soft: "0", hard: "0")))
    }

    @Test func unknownRowsAndBadValuesAreLeftOut() {
        let text = "Max open files            -1                   1024                 files\n"
            + "Max bananas               1                    2                    fruit\n"
            + "Max processes\n" + String(repeating: "x", count: 5000)
        #expect(ProcLimitsParser.parse(text).isEmpty)
        // A value past 64 bits leaves its row out; a sign Swift's parsing took is kept off the
        // printed value; a name with bytes that are not UTF-8 is no known row.
        let edges = "Max open files            +512                 99999999999999999999 files\n"
            + "Max processes             +64                  +128                 processes\n"
            + "Max core file size        18446744073709551615 unlimited            bytes\n"
        #expect(
            ProcLimitsParser.parse(edges) == [
                ResourceLimit(name: "RLIMIT_NPROC", soft: "64", hard: "128"),
                ResourceLimit(name: "RLIMIT_CORE", soft: "18446744073709551615", hard: "unlimited"),
            ])
        let invalid: [UInt8] = Array("Max open files".utf8) + [0xff, 0xfe] + Array("         1                    2                    files\n".utf8)
        #expect(invalid.withUnsafeBufferPointer { ProcLimitsParser.parse(bytes: $0) }.isEmpty)
    }

    @Test func exceedsOrdersNumbersBelowUnlimited() {
        #expect(ResourceLimit.exceeds("unlimited", "1024"))
        #expect(ResourceLimit.exceeds("2048", "1024"))
        #expect(!ResourceLimit.exceeds("1024", "unlimited"))
        #expect(!ResourceLimit.exceeds("512", "1024"))
        #expect(ResourceLimit.text(UInt64.max) == "unlimited")
    }

    @Test func statusGroupsLineIsReadEvenWhenEmpty() {
        #expect(ProcStatus.parse("Groups:\t10 27 1001 \n").groups == [10, 27, 1001])
        #expect(ProcStatus.parse("Groups:\t \n").groups == [])
        #expect(ProcStatus.parse("Uid:\t0\t0\t0\t0\n").groups == nil)
    }
}

@Suite struct VirtualizationTests {
    @Test func bareMetalGuestsAndWhatEachRestsOn() {
        let bare = VirtualizationFacts.decide(cpuFlagHypervisor: false, cpuidSignature: nil, sysHypervisorType: nil,
                                              dmiVendor: "Dell Inc.", dmiProduct: "PowerEdge R750")
        #expect(bare?.guest == false && bare?.hypervisor == nil)
        // This project's host: a Firecracker microVM, KVM's signature, no DMI.
        let firecracker = VirtualizationFacts.decide(cpuFlagHypervisor: true, cpuidSignature: "KVMKVMKVM",
                                                     sysHypervisorType: nil, dmiVendor: nil, dmiProduct: nil)
        #expect(firecracker?.guest == true && firecracker?.hypervisor == "kvm")
        #expect(firecracker?.evidence.count == 2)
        let tcg = VirtualizationFacts.decide(cpuFlagHypervisor: true, cpuidSignature: "TCGTCGTCGTCG", sysHypervisorType: nil,
                                             dmiVendor: "QEMU", dmiProduct: "Standard PC (i440FX + PIIX, 1996)")
        #expect(tcg?.hypervisor == "qemu-tcg")
        let xen = VirtualizationFacts.decide(cpuFlagHypervisor: nil, cpuidSignature: nil, sysHypervisorType: "xen",
                                             dmiVendor: nil, dmiProduct: nil)
        #expect(xen?.guest == true && xen?.hypervisor == "xen")
        #expect(VirtualizationFacts.decide(cpuFlagHypervisor: nil, cpuidSignature: nil, sysHypervisorType: nil,
                                           dmiVendor: nil, dmiProduct: nil) == nil)
    }

    @Test func cpuinfoFlagIsReadFromTheFlagsLine() {
        #expect(HostInspector.cpuinfoHasHypervisorFlag("processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor lahf_lm\n"))
        #expect(!HostInspector.cpuinfoHasHypervisorFlag("processor\t: 0\nflags\t\t: fpu vme sse2\nbugs\t: hypervisor\n"))
    }
}

@Suite struct MountInfoTests {
    @Test func parsesBindMountWithOctalEscapes() throws {
        let line = #"612 598 254:1 /srv/data\040dir/with\011tab /mnt/my\134dir ro,nosuid,relatime master:1 - ext4 /dev/vda1 rw,errors=remount-ro"#
        let parsed = MountInfoParser.parse(line)
        #expect(parsed.malformed == 0)
        let entry = try #require(parsed.entries.first)
        #expect(entry.root == "/srv/data dir/with\ttab")
        #expect(entry.mountPoint == "/mnt/my\\dir")
        #expect(entry.readOnly)
        #expect(entry.optionalFields == ["master:1"])
        #expect(entry.fsType == "ext4")
        #expect(entry.source == "/dev/vda1")
        #expect(entry.major == 254 && entry.minor == 1)
    }

    @Test func invalidUTF8InPathIsEscapedNotLost() throws {
        let line = "1 0 0:1 / /x\\377y rw - tmpfs tmpfs rw"
        let entry = try #require(MountInfoParser.parse(line).entries.first)
        #expect(entry.mountPoint == "/x\\xffy")
    }

    /// The scan parses raw bytes; it must give what decoding the whole file with SafeText and
    /// parsing the text gave: raw invalid bytes, octal escapes of invalid bytes, and a raw
    /// invalid byte followed by digits.
    @Test(arguments: [
        [UInt8]("1 0 0:1 / /x\\377y rw - tmpfs tmpfs rw\n".utf8),
        [UInt8]("1 0 0:1 /a".utf8) + [0xFF, 0x31, 0x32, 0x33] + [UInt8](" /b".utf8) + [0xC3] + [UInt8](" rw - ext4 /dev/x".utf8) + [0xE2, 0x82] + [UInt8](" rw\n".utf8),
        [UInt8]("22 27 0:21 / /proc rw,relatime - proc proc rw\ngarbage\n7 1 8:1 /srv/d\\040x /mnt/\\134y ro master:1 - ext4 /dev/vda1 rw\n".utf8),
    ])
    func bytesParseLikeDecodedText(bytes: [UInt8]) {
        let fromText = MountInfoParser.parse(SafeText.decode(bytes, limit: bytes.count))
        let fromBytes = MountInfoParser.parse(bytes: bytes)
        #expect(fromBytes.entries == fromText.entries)
        #expect(fromBytes.malformed == fromText.malformed)
        #expect(!fromBytes.entries.isEmpty)
    }

    @Test func malformedLinesAreCountedNotFatal() {
        let parsed = MountInfoParser.parse("garbage\n1 2 3\n22 27 0:21 / /proc rw,relatime - proc proc rw\n")
        #expect(parsed.entries.count == 1)
        #expect(parsed.malformed == 2)
    }
}

@Suite struct SmallFormatTests {
    @Test func idMaps() {
        let map = IDMapParser.parse("         0     100000      65536\n")
        #expect(map == [IDMapRange(inside: 0, outside: 100000, count: 65536)])
        #expect(IDMapParser.hostID(0, in: map) == 100000)
        #expect(IDMapParser.hostID(70000, in: map) == nil)
        #expect(IDMapParser.hostID(0, in: IDMapParser.parse("0 0 4294967295")) == 0)
        #expect(PostureBuilder.insideID(hostID: 100005, map: map) == 5)
    }

    @Test func cgroupBytesParseLikeTextAndKeepInvalidBytesVisible() {
        let valid = [UInt8]("12:pids:/libpod_parent/libpod-abc\n4:cpu,cpuacct:/a\u{FFFD}b:c\nx:y:z\n\n0::/user.slice\n".utf8)
        let fromBytes = CgroupFileParser.parse(bytes: valid)
        #expect(fromBytes == CgroupFileParser.parse(String(decoding: valid, as: UTF8.self)))
        #expect(fromBytes.count == 3)
        #expect(fromBytes[1].controllers == ["cpu", "cpuacct"])
        #expect(fromBytes[1].path == "/a\u{FFFD}b:c")
        #expect(fromBytes.allSatisfy { $0.pathIsExact })
        // An invalid byte is not replaced (a cgroup really named "/a\u{FFFD}b" could then stand
        // in for it): it is shown as \xff and the path is marked inexact.
        let invalid = [UInt8]("4:cpu,cpuacct:/a".utf8) + [0xFF] + [UInt8]("b\n".utf8)
        let parsed = CgroupFileParser.parse(bytes: invalid)
        #expect(parsed.first?.path == "/a\\xffb")
        #expect(parsed.first?.pathIsExact == false)
    }

    @Test func cgroupFiles() {
        let hybrid = CgroupFileParser.parse("12:pids:/libpod_parent/libpod-abc\n1:name=systemd:/x\n0::/user.slice\n")
        #expect(hybrid.count == 3)
        #expect(hybrid[0].controllers == ["pids"])
        #expect(hybrid[2].isUnified)
        #expect(CgroupFileParser.limit("max\n") == .max)
        #expect(CgroupFileParser.limit("9223372036854771712\n") == .max)
        #expect(CgroupFileParser.limit("67108864\n") == .value(67_108_864))
        #expect(CgroupFileParser.limit("-1\n") == .max)
        #expect(CgroupFileParser.cpuMax("50000 100000\n")! == (.value(50000), 100000))
        #expect(CgroupFileParser.devicesAllowAll("a *:* rwm\n"))
        #expect(!CgroupFileParser.devicesAllowAll("c 1:3 rwm\nc 5:0 rwm\n"))
        let rules = CgroupFileParser.deviceRules("c *:* m\nb *:* m\nc 1:3 rwm\nc 10:200 rw\nbogus\n")
        #expect(rules.count == 4)
        #expect(CgroupFileParser.access(for: rules, type: "c", major: 10, minor: 200) == "rwm")
        #expect(CgroupFileParser.access(for: rules, type: "b", major: 8, minor: 0) == "m")
        #expect(CgroupFileParser.access(for: rules, type: "c", major: 1, minor: 3) == "rwm")
        #expect(CgroupFileParser.access(for: [], type: "c", major: 1, minor: 1) == "-")
    }

    @Test func containerIDsInCgroupPaths() {
        let id = String(repeating: "ab12", count: 16)
        #expect(CgroupSignature.match(path: "/machine.slice/libpod-\(id).scope/container")?.runtime == "podman")
        #expect(CgroupSignature.match(path: "/machine.slice/libpod-conmon-\(id).scope") == nil)
        #expect(CgroupSignature.match(path: "/system.slice/docker-\(id).scope")?.id == id)
        #expect(CgroupSignature.match(path: "/docker/\(id)")?.runtime == "docker")
        #expect(CgroupSignature.match(path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-\(id).scope")?.runtime == "containerd")
        #expect(CgroupSignature.match(path: "/kubepods.slice/kubepods-pod1.slice/crio-\(id).scope")?.runtime == "cri-o")
        #expect(CgroupSignature.match(path: "/lxc.payload.web")?.name == "web")
        #expect(CgroupSignature.match(path: "/machine.slice/systemd-nspawn@box.service/payload")?.name == "box")
        #expect(CgroupSignature.match(path: "/user.slice/user-1000.slice/session-2.scope") == nil)
    }

    @Test(arguments: [
        ("0100007F:1F90", false, "127.0.0.1:8080"),
        ("00000000:170D", false, "0.0.0.0:5901"),
        ("00000000000000000000000001000000:0016", true, "[::1]:22"),
        ("00000000000000000000000000000000:1F90", true, "[::]:8080"),
        ("0000000000000000FFFF00000100007F:0050", true, "127.0.0.1:80"),
    ])
    func socketAddresses(field: String, ipv6: Bool, expected: String) {
        #expect(SocketTableParser.decodeAddress(Substring(field), ipv6: ipv6) == expected)
    }

    @Test func listeningSocketsOnly() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000:170D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
               1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
            """
        #expect(SocketTableParser.listeningSockets(table, ipv6: false) == [4242: "0.0.0.0:5901"])
    }

    @Test func fdinfoAccessMode() {
        #expect(FDInfoParser.access("pos:\t0\nflags:\t02100002\nmnt_id:\t27\n") == "rw")
        #expect(FDInfoParser.access("flags:\t0100000\n") == "r")
    }
}

@Suite struct MACLabelTests {
    @Test(arguments: [
        ("docker-default (enforce)\n", "docker-default", "enforce", true),
        ("unconfined\n", "unconfined", "unconfined", false),
        ("libvirt-3c5b8d6e-59a1-4f2b-9b1e-0f6f2f8a2c11 (enforce)\n", "libvirt-3c5b8d6e-59a1-4f2b-9b1e-0f6f2f8a2c11", "enforce", true),
        ("snap.firefox.firefox (complain)\n", "snap.firefox.firefox", "complain", false),
        ("crun//&containers-default-0.50.1 (enforce)\n", "crun//&containers-default-0.50.1", "enforce", true),
    ])
    func apparmor(raw: String, profile: String, mode: String, confined: Bool) throws {
        let label = try #require(MACLabelParser.apparmor(raw))
        #expect(label.profile == profile)
        #expect(label.mode == mode)
        #expect(label.confined == confined)
    }

    /// Our split agrees with libapparmor's own `aa_splitcon` on the kernel's format.
    @Test(arguments: ["docker-default (enforce)\n", "unconfined\n", "a b (complain)\n", "p//&q (enforce)\n"])
    func apparmorAgreesWithLibapparmor(raw: String) throws {
        let ours = try #require(MACLabelParser.apparmor(raw))
        let library = try #require(AppArmorLibrary.split(raw))
        #expect(ours.profile == library.label)
        if let mode = library.mode { #expect(ours.mode == mode) }
    }

    @Test(arguments: [
        ("system_u:system_r:container_t:s0:c123,c456\0", "container_t", "s0:c123,c456", true),
        ("unconfined_u:system_r:spc_t:s0\0", "spc_t", "s0", false),
        ("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023\0", "unconfined_t", "s0-s0:c0.c1023", false),
        ("system_u:system_r:svirt_t:s0:c392,c662", "svirt_t", "s0:c392,c662", true),
    ])
    func selinux(raw: String, type: String, level: String, confined: Bool) throws {
        let label = try #require(MACLabelParser.selinux(raw))
        #expect(label.type == type)
        #expect(label.level == level)
        #expect(label.confined == confined)
        // libselinux's context parser reads the same fields.
        let library = try #require(SELinuxLibrary.parse(label.context))
        #expect(library.type == type)
        #expect(library.level == level)
    }

    @Test func malformedLabelsAreRejected() {
        #expect(MACLabelParser.selinux("justtext") == nil)
        #expect(MACLabelParser.selinux("::") == nil)
        #expect(MACLabelParser.apparmor("\0\n") == nil)
    }
}
