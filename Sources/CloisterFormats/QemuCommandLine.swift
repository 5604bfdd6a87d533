import CloisterModel

// A pure reader of qemu system-emulator command lines: what a guest's hypervisor was asked to
// do, from argv alone. The live scanner feeds it /proc/PID/cmdline; `cloister check --qemu`
// feeds it what a user typed. It never fails: unknown options are recorded and skipped, and
// argv is bounded, so hostile command lines cost linear time and bounded memory.
//
// Option semantics follow the qemu manual (qemu-doc "Invocation", docs/system/invocation.rst)
// and softmmu/vl.c (system/vl.c in newer trees); the comments cite them where behaviour is not
// obvious from the option name.

/// Everything cloister reads from a qemu command line.
public struct QemuConfig: Sendable, Equatable {
    /// argv[0] when it names a qemu binary.
    public var binary: String?
    public var name: String?
    public var uuid: String?
    /// Accelerators in the order declared (`-enable-kvm`, `-accel`, `-machine accel=a:b`); qemu
    /// tries them in order and uses the first that initialises.
    public var accelerators: [String] = []
    /// `-machine` type as given; nil when not given.
    public var machine: String?
    public var machineOptions = QemuOptionList()
    /// `-sandbox` options as given; nil when `-sandbox` is absent.
    public var sandbox: QemuOptionList?
    /// `-runas USER` or `-run-with user=USER`.
    public var runAs: String?
    /// `-chroot DIR` or `-run-with chroot=DIR`.
    public var chroot: String?
    public var consoles: [Console] = []
    /// Consoles qemu adds by itself (no `-nodefaults`, none given): their indexes in `consoles`.
    public var defaultConsoleIndexes: [Int] = []
    public var network: [NetworkBackend] = []
    /// `hostfwd=` rules of user-mode networks: ports the host listens on for the guest.
    public var hostForwards: [String] = []
    public var passthrough: [Passthrough] = []
    public var legacyDevices: [String] = []
    /// Legacy devices present because the machine type builds them in.
    public var builtInLegacyDevices: [String] = []
    /// `-device` arguments as given.
    public var devices: [QemuOptionList] = []
    /// `-drive` arguments (and `-hda`…, `-cdrom`, `-fda`… as drives) as given.
    public var drives: [QemuOptionList] = []
    public var daemonize = false
    public var noGraphic = false
    public var noDefaults = false
    /// `-display` type (`none`, `gtk`, `sdl`, `curses`, `egl-headless`, `vnc`, `spice-app`, `dbus`).
    public var display: String?
    /// `-incoming` as given: a listening migration endpoint takes a whole guest state from
    /// whoever connects.
    public var incoming: String?
    /// Files qemu reads more options from (`-readconfig`); cloister does not read them, so
    /// what they set is not in this configuration.
    public var readConfig: [String] = []
    /// Options cloister does not interpret (they are listed, never guessed).
    public var unrecognizedOptions: [String] = []
    /// Things worth saying about how this command line was read.
    public var notes: [String] = []
    /// argv was longer than `QemuCommandLine.maximumArguments` and was cut.
    public var truncated = false
    /// For each posture field this command line sets (`hypervisor.consoles[2]`,
    /// `hypervisor.sandbox`), the index in argv of the option that set it: the evidence a
    /// finding points at, and for a file, the way to its line.
    public var argumentIndexes: [String: Int] = [:]

    /// The command line is one libvirt wrote (its master key secret, or a path in libvirt's
    /// per-domain directories): the MAC label is then the host security driver's (sVirt), set
    /// at start and not on the command line.
    public var startedByLibvirt = false

    public init() {}

    /// True when no accelerator was declared and qemu's default (TCG) applies.
    public var acceleratorDefaulted: Bool { accelerators.isEmpty }

    /// The machine type qemu uses: the declared one, or the binary's default.
    public var effectiveMachine: String? { machine ?? QemuCommandLine.defaultMachine(binary: binary) }

    /// The hypervisor part of a posture, as declared by this command line.
    public var hypervisor: Hypervisor {
        let sandboxEnabled = sandbox.flatMap { $0.flag("enable") } ?? false
        var sandboxOptions: [String: String] = [:]
        for option in sandbox?.options ?? [] where option.key != "enable" {
            sandboxOptions[option.key] = option.value
        }
        var user = ProcessUser()
        if let runAs {
            // qemu 9 accepts `uid:gid` numbers as well as a user name.
            let parts = runAs.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, let uid = UInt32(parts[0]), UInt32(parts[1]) != nil {
                user.uid = uid
            } else {
                user.name = runAs
            }
        }
        return Hypervisor(
            emulator: "qemu", binary: binary,
            // qemu's default accelerator is TCG (qemu manual, -accel: "By default, tcg is used").
            accelerator: accelerators.first ?? "tcg",
            machine: effectiveMachine,
            sandbox: HypervisorSandbox(enabled: sandboxEnabled, options: sandboxOptions),
            user: user, consoles: consoles, network: network, passthrough: passthrough,
            legacyDevices: builtInLegacyDevices + legacyDevices, uuid: uuid)
    }

    /// Posture JSON paths whose values come from qemu's defaults rather than argv.
    public var defaultedFields: [String] {
        var fields: [String] = []
        if acceleratorDefaulted { fields.append("hypervisor.accelerator") }
        if machine == nil, effectiveMachine != nil { fields.append("hypervisor.machine") }
        if !defaultConsoleIndexes.isEmpty { fields.append("hypervisor.consoles") }
        if network.contains(where: \.implicit) { fields.append("hypervisor.network") }
        if !builtInLegacyDevices.isEmpty { fields.append("hypervisor.legacyDevices") }
        if sandbox == nil { fields.append("hypervisor.sandbox") }
        return fields
    }
}

public enum QemuCommandLine {
    /// At most this many arguments are read; the rest are reported as cut.
    public static let maximumArguments = 16_384
    /// Longer single arguments are cut to this many characters before parsing.
    public static let maximumArgumentLength = 65_536

    /// True when `argument` (argv[0]) names a qemu system emulator.
    public static func isQemuBinary(_ argument: String) -> Bool {
        let base = argument.split(separator: "/").last.map(String.init) ?? argument
        return base.hasPrefix("qemu-system-") || base == "qemu-kvm" || base == "kvm" || base == "qemu"
    }

    /// The machine type a binary uses without `-machine`: `pc` (i440fx) for the upstream x86
    /// emulators (qemu manual: "-machine help" marks pc as default). Distribution builds such
    /// as RHEL's qemu-kvm pick their own default, so none is assumed for them.
    public static func defaultMachine(binary: String?) -> String? {
        guard let binary else { return nil }
        let base = binary.split(separator: "/").last.map(String.init) ?? binary
        if base == "qemu-system-x86_64" || base == "qemu-system-i386" { return "pc" }
        return nil
    }

    /// True for the i440fx PC boards (`pc`, `pc-i440fx-*`, old `pc-0.x`/`pc-1.x`, `isapc`,
    /// `xenfv`). Their board code builds an ISA floppy controller whether or not a floppy drive
    /// is configured (hw/i386/pc_piix.c passes create_fdctrl=true to pc_basic_device_init),
    /// and `-nodefaults` does not remove it: this is why VENOM (CVE-2015-3456) reached guests
    /// with no floppy drive. q35 boards build one only for a configured floppy drive
    /// (pc_q35.c: no_floppy).
    public static func buildsFloppyController(machine: String) -> Bool {
        let type = machine.split(separator: ",").first.map(String.init) ?? machine
        if type == "pc" || type == "isapc" || type == "xenfv" || type.hasPrefix("pc-i440fx") { return true }
        if type.hasPrefix("pc-"), !type.hasPrefix("pc-q35"), type.dropFirst(3).first?.isNumber == true {
            return true
        }
        return false
    }

    /// Options that take no argument (qemu-options.hx entries without HAS_ARG). Any other
    /// option consumes the next argument.
    static let flagOptions: Set<String> = [
        "enable-kvm", "no-kvm", "nographic", "nodefaults", "daemonize", "s", "S", "snapshot",
        "no-reboot", "no-shutdown", "no-acpi", "no-hpet", "full-screen", "no-user-config",
        "nodefconfig", "no-fd-bootchk", "no-quit", "version", "help", "h", "preconfig",
        "only-migratable", "win2k-hack", "rtc-td-hack", "usb", "curses", "sdl", "portrait",
        "alt-grab", "ctrl-grab", "semihosting", "enable-fips", "singlestep", "no-frame",
        "xen-attach", "audio-help", "enable-sync-profile", "perfmap", "jitdump", "mem-prealloc",
        "old-param", "nouserconfig", "localtime", "no-shutdown", "enable-nesting", "kernel-kqemu",
        "no-kqemu", "std-vga", "vmwarevga", "show-cursor", "tdf", "no-quit",
    ]

    /// Options known to take an argument that cloister reads no security meaning from.
    static let ignoredOptionsWithArgument: Set<String> = [
        "m", "smp", "cpu", "kernel", "initrd", "append", "dtb", "boot", "bios", "L", "k", "rtc",
        "icount", "watchdog", "watchdog-action", "action", "global", "object", "blockdev", "fsdev",
        "virtfs", "iscsi", "numa", "add-fd", "set", "vga", "d", "D", "pidfile", "loadvm",
        "option-rom", "prom-env", "trace", "plugin", "overcommit", "mem-path", "msg", "compat",
        "acpitable", "smbios", "fw_cfg", "debugcon", "audiodev", "tpmdev", "keyboard", "g",
        "cpu-pm", "mtdblock", "sd", "pflash", "writeconfig", "qtest", "qtest-log", "seed",
        "semihosting-config", "xen-domid", "xen-domid-restrict", "accel-info", "iscsi", "tb-size",
        "icount", "echr", "machine-help", "device-help", "fw-cfg", "smp-cpus",
    ]

    public static func parse(_ argv: [String]) -> QemuConfig {
        var config = QemuConfig()
        var arguments = argv
        if arguments.count > maximumArguments {
            arguments = Array(arguments.prefix(maximumArguments))
            config.truncated = true
            config.notes.append("argv had \(argv.count) arguments; only the first \(maximumArguments) were read")
        }
        arguments = arguments.map { $0.count > maximumArgumentLength ? String($0.prefix(maximumArgumentLength)) : $0 }

        var state = ParseState()
        var index = 0
        if let first = arguments.first, !first.hasPrefix("-") {
            if isQemuBinary(first) {
                config.binary = first
            } else {
                config.notes.append("argv[0] \(first) is not a qemu system emulator name")
                config.binary = first
            }
            index = 1
        }

        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("-"), argument.count > 1 else {
                // A bare argument is the first hard disk image (qemu manual: "disk_image").
                config.drives.append(QemuOptionList(options: [QemuOption(key: "file", value: argument)]))
                continue
            }
            var option = String(argument.dropFirst(argument.hasPrefix("--") ? 2 : 1))
            if option.isEmpty { continue }
            // qemu itself does not take `-opt=value`; accept it anyway so a value is not lost.
            var inlineValue: String?
            if let equals = option.firstIndex(of: "=") {
                inlineValue = String(option[option.index(after: equals)...])
                option = String(option[..<equals])
            }

            let optionIndex = index - 1
            state.optionIndex = optionIndex
            let before = FieldCounts(config)
            defer { config.recordArguments(since: before, index: optionIndex) }
            if flagOptions.contains(option) {
                applyFlag(option, to: &config, state: &state)
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else if index < arguments.count {
                value = arguments[index]
                index += 1
            } else {
                config.notes.append("-\(option) is missing its argument")
                continue
            }
            if !apply(option, value, to: &config, state: &state) {
                if !ignoredOptionsWithArgument.contains(option) {
                    config.unrecognizedOptions.append("-" + option)
                }
            }
        }
        finish(&config, state: state)
        config.startedByLibvirt = arguments.contains { argument in
            argument.contains("id=masterKey0") || argument.contains("\"id\":\"masterKey0\"")
                || argument.contains("/var/lib/libvirt/qemu/") || argument.contains("/run/libvirt/qemu/")
        }
        if config.startedByLibvirt {
            // libvirt opens the UNIX sockets it listens on itself (its QMP monitor, a
            // <serial type='unix' mode='bind'>) and hands qemu the descriptor, `fd=N`; a TCP
            // chardev it writes as host= and port= (src/qemu/qemu_command.c). So a passed socket
            // in an argv libvirt wrote is a UNIX socket on this host.
            for index in config.consoles.indices where config.consoles[index].transport == "fd" {
                config.consoles[index].transport = "unix"
                config.consoles[index].localOnly = true
                config.consoles[index].password = false
            }
        }
        return config
    }

    // MARK: - Options

    /// Facts gathered while reading argv that are resolved once all of it is read.
    struct ParseState {
        var chardevs: [String: QemuEndpoint] = [:]
        var chardevOrder: [String] = []
        var chardevIndexes: [String: Int] = [:]
        var chardevUses: [(kind: String, id: String, index: Int)] = []
        var vncDisplays: [(value: String, index: Int)] = []
        var spiceOptions: [(options: QemuOptionList, index: Int)] = []
        var gdb: [(value: String, index: Int)] = []
        var optionIndex = 0
        var monitorGiven = false
        var serialGiven = false
        var networkGiven = false
        var noNetwork = false
        var floppyDrive = false
        /// `-blockdev` node-name → its `filename`, or the node-name of the node it is layered on.
        var blockdevs: [String: String?] = [:]
    }

    static func applyFlag(_ option: String, to config: inout QemuConfig, state: inout ParseState) {
        switch option {
        case "enable-kvm": config.accelerators.append("kvm")
        case "no-kvm": config.accelerators.append("tcg")
        case "nographic": config.noGraphic = true
        case "nodefaults": config.noDefaults = true
        case "daemonize": config.daemonize = true
        // -s: "Shorthand for -gdb tcp::1234" — an empty host, so every interface.
        case "s": state.gdb.append(("tcp::1234", state.optionIndex))
        case "curses": config.display = "curses"
        case "sdl": config.display = "sdl"
        default: break
        }
    }

    /// Applies one option with its argument; false when the option is not one cloister reads.
    static func apply(_ option: String, _ value: String, to config: inout QemuConfig, state: inout ParseState) -> Bool {
        switch option {
        case "name":
            let options = QemuOptionList.parse(value, impliedKey: "guest")
            config.name = options["guest"]
        case "uuid":
            config.uuid = value
        case "accel":
            let options = QemuOptionList.parse(value, impliedKey: "accel")
            if let accel = options["accel"] {
                config.accelerators += accel.split(separator: ":").map(String.init)
            }
        case "machine", "M":
            let options = QemuOptionList.parse(value, impliedKey: "type")
            config.machineOptions = options
            if let type = options["type"] { config.machine = type }
            if let accel = options["accel"] {
                config.accelerators += accel.split(separator: ":").map(String.init)
            }
        case "sandbox":
            config.sandbox = QemuOptionList.parse(value, impliedKey: "enable")
        case "runas":
            config.runAs = value
        case "chroot":
            config.chroot = value
        case "run-with":
            let options = QemuOptionList.parse(value)
            if let user = options["user"] { config.runAs = user }
            if let chroot = options["chroot"] { config.chroot = chroot }
        case "vnc":
            state.vncDisplays.append((value, state.optionIndex))
        case "spice":
            state.spiceOptions.append((QemuOptionList.parse(value), state.optionIndex))
        case "display":
            let options = QemuOptionList.parse(value, impliedKey: "type")
            let type = options["type"] ?? ""
            if value.hasPrefix("vnc=") || type == "vnc" {
                // -display vnc=<display>[,<options>]: the same as -vnc <display>[,<options>].
                config.display = "vnc"
                if let equals = value.firstIndex(of: "=") {
                    state.vncDisplays.append((String(value[value.index(after: equals)...]), state.optionIndex))
                }
            } else {
                config.display = type
            }
        case "monitor":
            state.monitorGiven = true
            addLegacyConsole(kind: "monitor", value, to: &config, state: &state)
        case "qmp", "qmp-pretty":
            state.monitorGiven = true
            addLegacyConsole(kind: "qmp", value, to: &config, state: &state)
        case "mon":
            // -mon chardev=ID,mode=readline|control: a monitor (control: QMP) on a chardev.
            state.monitorGiven = true
            let options = QemuOptionList.parse(value, impliedKey: "chardev")
            if let id = options["chardev"] {
                state.chardevUses.append((options["mode"] == "control" ? "qmp" : "monitor", id, state.optionIndex))
            }
        case "serial":
            state.serialGiven = true
            addLegacyConsole(kind: "serial", value, to: &config, state: &state)
        case "parallel":
            addLegacyConsole(kind: "parallel", value, to: &config, state: &state)
        case "gdb":
            state.gdb.append((value, state.optionIndex))
        case "chardev":
            let (id, endpoint) = QemuEndpoint.parseChardev(QemuOptionList.parse(value, impliedKey: "backend"))
            let key = id ?? "#\(state.chardevOrder.count)"
            if state.chardevs[key] == nil { state.chardevOrder.append(key) }
            state.chardevIndexes[key] = state.optionIndex
            state.chardevs[key] = endpoint
        case "netdev":
            state.networkGiven = true
            let options = QemuOptionList.parse(value, impliedKey: "type")
            addNetwork(options, id: options["id"], to: &config)
        case "nic":
            // -nic TYPE[,model=…]: a backend and its NIC in one; -nic none: no network at all.
            state.networkGiven = true
            let options = QemuOptionList.parse(value, impliedKey: "type")
            if options["type"] == "none" {
                state.noNetwork = true
            } else {
                addNetwork(options, id: options["id"], to: &config)
                noteLegacyModel(options["model"], to: &config)
            }
        case "net":
            state.networkGiven = true
            let options = QemuOptionList.parse(value, impliedKey: "type")
            switch options["type"] {
            case "none": state.noNetwork = true
            case "nic": noteLegacyModel(options["model"], to: &config)
            default: addNetwork(options, id: options["id"] ?? options["name"], to: &config)
            }
        case "device":
            let options = QemuOptionList.parse(value, impliedKey: "driver")
            config.devices.append(options)
            addDevice(options, to: &config, state: &state)
        case "usbdevice":
            // -usbdevice host:BUS.ADDR or host:VENDOR:PRODUCT (legacy USB passthrough).
            if value.hasPrefix("host:") {
                config.passthrough.append(Passthrough(kind: "usb-host", host: String(value.dropFirst(5))))
            }
        case "blockdev":
            // Kept only to name the host device behind a SCSI passthrough (`drive=` of
            // scsi-generic or scsi-block is a node-name): its file, or the node it sits on.
            let options = QemuOptionList.parse(value)
            if let node = options["node-name"], state.blockdevs.count < 4096 {
                state.blockdevs[node] = options["filename"] ?? options["file"] ?? options["file.filename"]
            }
        case "drive":
            let options = QemuOptionList.parse(value)
            config.drives.append(options)
            if options["if"] == "floppy" { state.floppyDrive = true }
        case "fda", "fdb":
            config.drives.append(QemuOptionList(options: [
                QemuOption(key: "file", value: value), QemuOption(key: "if", value: "floppy"),
            ]))
            state.floppyDrive = true
        case "hda", "hdb", "hdc", "hdd", "cdrom":
            config.drives.append(QemuOptionList(options: [QemuOption(key: "file", value: value)]))
        case "soundhw":
            // Removed in qemu 7.1, still found on old command lines: -soundhw sb16,adlib | all.
            for model in value.split(separator: ",") { noteLegacyModel(String(model), to: &config) }
        case "audio":
            let options = QemuOptionList.parse(value, impliedKey: "driver")
            noteLegacyModel(options["model"], to: &config)
        case "incoming":
            config.incoming = value
            if value.hasPrefix("tcp:") || value.hasPrefix("unix:") || value.hasPrefix("rdma:") {
                var endpoint = QemuEndpoint.parseLegacy(value.hasPrefix("rdma:") ? "tcp:" + value.dropFirst(5) : value)
                // An incoming migration always listens.
                endpoint.server = true
                config.consoles.append(endpoint.console(kind: "migration"))
            }
        case "readconfig":
            config.readConfig.append(value)
            config.notes.append("-readconfig \(value): options in that file were not read")
        default:
            return false
        }
        return true
    }

    static func addLegacyConsole(kind: String, _ value: String, to config: inout QemuConfig, state: inout ParseState) {
        let endpoint = QemuEndpoint.parseLegacy(value)
        if let reference = endpoint.chardevReference {
            state.chardevUses.append((kind, reference, state.optionIndex))
            return
        }
        if endpoint.transport == "none", kind != "serial" { return }
        config.consoles.append(endpoint.console(kind: kind))
        if endpoint.multiplexedMonitor, kind != "monitor" {
            // mon:DEV puts the monitor on the same device (Ctrl-a c): who reaches it, gets both.
            config.consoles.append(endpoint.console(kind: "monitor"))
        }
    }

    static func addNetwork(_ options: QemuOptionList, id: String?, to config: inout QemuConfig) {
        var type = options["type"] ?? "unknown"
        // passt is a process of its own that qemu reaches over a UNIX stream socket: `-netdev
        // passt` (qemu 10.1), or `-netdev stream` to the socket libvirt keeps under a `passt`
        // directory (/run/libvirt/qemu/passt/…); it is not SLiRP in the hypervisor.
        if type == "stream", let path = options["addr.path"], path.split(separator: "/").contains("passt") { type = "passt" }
        config.network.append(NetworkBackend(type: type, id: id))
        if type == "user" {
            config.hostForwards += options.all("hostfwd")
        }
    }

    /// Emulated devices with a history of guest-to-host escapes or memory corruption:
    /// floppy (VENOM, CVE-2015-3456), pcnet (CVE-2015-3209, CVE-2015-7504), ne2k (CVE-2015-5279),
    /// the ISA sound cards sb16, adlib, gus, cs4231a (CVE-2020-13361 class; legacy DMA paths).
    public static let legacyDeviceModels: Set<String> = [
        "isa-fdc", "floppy", "sb16", "adlib", "gus", "cs4231a", "ne2k_isa", "ne2k_pci", "pcnet", "pcspk",
    ]

    static func noteLegacyModel(_ model: String?, to config: inout QemuConfig) {
        guard let model, legacyDeviceModels.contains(model) else { return }
        if !config.legacyDevices.contains(model) { config.legacyDevices.append(model) }
    }

    static func addDevice(_ options: QemuOptionList, to config: inout QemuConfig, state: inout ParseState) {
        let driver = options["driver"] ?? ""
        switch driver {
        case "vfio-pci", "vfio-pci-nohotplug", "vfio-platform", "vfio-ccw", "vfio-ap", "vfio-pci-igd-lpc-bridge":
            let host = options["host"] ?? options["sysfsdev"] ?? options["fd"].map { "fd:\($0)" } ?? ""
            // A mediated device (vGPU, vfio-ap, vfio-ccw) is named by its sysfs path under mdev.
            let mediated = host.hasPrefix("/sys/bus/mdev/") || host.hasPrefix("/sys/devices/") && host.contains("/mdev")
            config.passthrough.append(Passthrough(kind: mediated ? "mdev" : "vfio", host: host))
        case "pci-assign", "kvm-pci-assign":
            // The old KVM device assignment, before VFIO.
            config.passthrough.append(Passthrough(kind: "pci-assign", host: options["host"] ?? ""))
        case "scsi-generic", "scsi-block":
            // A host SCSI device (/dev/sgN, a LUN) behind the drive or blockdev it names.
            config.passthrough.append(Passthrough(kind: driver, host: options["drive"] ?? ""))
        case "vhost-scsi", "vhost-scsi-pci", "vhost-scsi-ccw", "vhost-user-scsi", "vhost-user-scsi-pci":
            // A LIO target on the host (wwpn), or a vhost-user backend's chardev.
            let host = options["wwpn"] ?? options["vhostfd"].map { "vhostfd:\($0)" } ?? options["chardev"].map { "chardev:\($0)" } ?? ""
            config.passthrough.append(Passthrough(kind: "vhost-scsi", host: host))
        case "usb-host":
            let keys = ["hostbus", "hostaddr", "hostport", "vendorid", "productid", "hostdevice"]
            let host = keys.compactMap { key in options[key].map { "\(key)=\($0)" } }.joined(separator: ",")
            config.passthrough.append(Passthrough(kind: "usb-host", host: host))
        case "isa-fdc", "floppy":
            state.floppyDrive = true
            noteLegacyModel(driver, to: &config)
        case "isa-serial", "pci-serial", "pci-serial-2x", "pci-serial-4x", "virtconsole", "usb-serial", "spapr-vty",
            "sclpconsole", "sclplmconsole":
            // A serial port or a console (virtconsole is the guest's hvc0): a terminal the guest
            // may run a login or its kernel console on.
            if let id = options["chardev"] { state.chardevUses.append(("serial", id, state.optionIndex)) }
            if driver == "isa-serial" { state.serialGiven = true }
        case "virtserialport":
            // A virtio-serial port that is not a console: libvirt's <channel> (the guest agent,
            // org.qemu.guest_agent.0, whose guest-exec runs commands in the guest).
            if let id = options["chardev"] { state.chardevUses.append(("channel", id, state.optionIndex)) }
        default:
            noteLegacyModel(driver, to: &config)
            if let id = options["chardev"] { state.chardevUses.append(("chardev", id, state.optionIndex)) }
        }
    }

    // MARK: - Resolution

    static func finish(_ config: inout QemuConfig, state: ParseState) {
        // A SCSI passthrough names a blockdev node: follow it (through a format node, at most a
        // few hops) to the host device's path.
        for index in config.passthrough.indices where config.passthrough[index].kind.hasPrefix("scsi-") {
            var host = config.passthrough[index].host
            for _ in 0..<4 {
                guard let next = state.blockdevs[host] ?? nil else { break }
                host = next
            }
            config.passthrough[index].host = host
        }
        // Consoles that name a -chardev; each chardev takes the kind of every front end using it.
        var used: Set<String> = []
        for use in state.chardevUses {
            guard let endpoint = state.chardevs[use.id] else {
                config.notes.append("chardev \(use.id) is used but not declared")
                continue
            }
            used.insert(use.id)
            config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = use.index
            config.consoles.append(endpoint.console(kind: use.kind))
        }
        // Sockets that no front end cloister knows uses are still openings into qemu.
        for key in state.chardevOrder where !used.contains(key) {
            guard let endpoint = state.chardevs[key], endpoint.isNetwork || endpoint.transport == "unix" else { continue }
            if let index = state.chardevIndexes[key] { config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index }
            config.consoles.append(endpoint.console(kind: "chardev"))
        }
        for (value, index) in state.gdb {
            let endpoint = QemuEndpoint.parseLegacy(value)
            if let reference = endpoint.chardevReference, let declared = state.chardevs[reference] {
                config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index
                config.consoles.append(declared.console(kind: "gdb"))
            } else if endpoint.transport != "none" {
                config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index
                var listening = endpoint
                // The gdb stub always listens (gdbstub.c adds server=on to a tcp/unix spec).
                if listening.isNetwork || listening.transport == "unix" { listening.server = true }
                config.consoles.append(listening.console(kind: "gdb"))
            }
        }
        let displayLocal = addDisplays(&config, state: state)

        // Defaults (system/vl.c): without -nodefaults, qemu adds a monitor when no -monitor,
        // -qmp or -mon is given, and a serial port when no -serial is given. With -nographic
        // both share stdio ("mon:stdio"); otherwise each is a virtual console ("vc") shown in
        // the graphical display, where anyone who can see the display can switch to the monitor.
        if !config.noDefaults {
            let displayNone = config.display == "none" && state.vncDisplays.isEmpty && state.spiceOptions.isEmpty
            // The monitor and a serial port qemu adds when none is given, on `transport`.
            func addDefaultConsoles(transport: String, localOnly: Bool) {
                for (kind, given) in [("monitor", state.monitorGiven), ("serial", state.serialGiven)] where !given {
                    config.defaultConsoleIndexes.append(config.consoles.count)
                    config.consoles.append(Console(kind: kind, transport: transport, localOnly: localOnly))
                }
            }
            if config.noGraphic {
                addDefaultConsoles(transport: "stdio", localOnly: true)
            } else if !displayNone {
                addDefaultConsoles(transport: "vc", localOnly: displayLocal)
            }
            // Any -net, -netdev or -nic turns the default network off (vl.c: default_net = 0);
            // otherwise qemu adds "-net nic -net user": user-mode (SLiRP) networking.
            if !state.networkGiven {
                config.network.append(NetworkBackend(type: "user", implicit: true))
            }
        }

        if state.floppyDrive {
            for device in ["isa-fdc", "floppy"] where !config.legacyDevices.contains(device) {
                config.legacyDevices.append(device)
            }
        }
        if let machine = config.effectiveMachine, buildsFloppyController(machine: machine),
            !config.legacyDevices.contains("isa-fdc")
        {
            config.builtInLegacyDevices.append("isa-fdc")
        }
        if config.daemonize, config.consoles.contains(where: { $0.transport == "stdio" }) {
            config.notes.append("-daemonize with a stdio console: qemu refuses to start")
        }
    }

    /// Adds VNC and SPICE listeners; returns whether every display is reachable only locally.
    static func addDisplays(_ config: inout QemuConfig, state: ParseState) -> Bool {
        var allLocal = true
        for (display, index) in state.vncDisplays {
            // -vnc [host]:N (TCP port 5900+N), unix:PATH, none; options after the first comma:
            // password=on, tls-creds=ID, sasl=on, websocket=[host:]port|on, reverse=on, to=N.
            let options = QemuOptionList.parse(display, impliedKey: "vnc")
            let target = options["vnc"] ?? ""
            if target == "none" { continue }
            let password = options.flag("password") ?? false
            let tls = options["tls-creds"] != nil || options.flag("tls") == true || options.flag("x509") == true
                || options.flag("x509verify") == true
            let sasl = options.flag("sasl") ?? false
            var console: Console
            var vncHost = ""
            var displayNumber: Int?
            if target.hasPrefix("unix:") {
                console = Console(
                    kind: "vnc", transport: "unix", address: String(target.dropFirst(5)), localOnly: true,
                    password: password || sasl, tls: tls)
            } else {
                let hostPort = NetworkAddress.split(target) ?? (host: target, port: "0")
                vncHost = hostPort.host
                displayNumber = Int(hostPort.port)
                let port = displayNumber.map { String(5900 + max(0, min($0, 59_635))) } ?? hostPort.port
                // reverse=on: qemu connects out to a listening viewer at host:port (no +5900).
                let reverse = options.flag("reverse") ?? false
                let local = reverse
                    ? (vncHost.isEmpty || NetworkAddress.isLoopback(vncHost))
                    : (!vncHost.isEmpty && NetworkAddress.isLoopback(vncHost))
                console = Console(
                    kind: "vnc", transport: "tcp",
                    address: NetworkAddress.join(host: vncHost, port: reverse ? hostPort.port : port),
                    localOnly: local, password: password || sasl, tls: tls)
            }
            allLocal = allLocal && (console.localOnly ?? false)
            config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index
            config.consoles.append(console)
            if let websocket = options["websocket"], QemuOptionList.boolean(websocket) != false {
                // websocket=on: port 5700+N on the VNC host; websocket=[host:]port otherwise.
                var host = vncHost
                var port = displayNumber.map { String(5700 + max(0, min($0, 59_835))) } ?? ""
                if QemuOptionList.boolean(websocket) == nil {
                    if let split = NetworkAddress.split(websocket) {
                        host = split.host
                        port = split.port
                    } else {
                        port = websocket
                    }
                }
                let local = !host.isEmpty && NetworkAddress.isLoopback(host)
                allLocal = allLocal && local
                config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index
                config.consoles.append(
                    Console(
                        kind: "vnc", transport: "websocket", address: NetworkAddress.join(host: host, port: port),
                        localOnly: local, password: password || sasl, tls: tls))
            }
        }
        for (options, index) in state.spiceOptions {
            // -spice port=N,tls-port=N,addr=A,unix=on,disable-ticketing=on,password-secret=ID
            // (qemu manual, -spice). Without addr SPICE listens on every interface.
            // SASL authenticates a client as a password does (`sasl=on`, qemu's -spice).
            let password = options["password-secret"] != nil || options["password"] != nil || options.flag("sasl") == true
            let address = options["addr"] ?? ""
            if options.flag("unix") == true {
                config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index
                config.consoles.append(
                    Console(kind: "spice", transport: "unix", address: address, localOnly: true, password: password))
                continue
            }
            let local = !address.isEmpty && NetworkAddress.isLoopback(address)
            // A plain and a TLS port may both listen: each is a console of its own.
            for (key, tls) in [("port", false), ("tls-port", true)] {
                // Port 0 opens no listener of that kind (libvirt writes port=0 for a TLS-only or
                // plain-only SPICE, and for autoport before it picks one).
                guard let port = options[key], port != "0", !port.isEmpty else { continue }
                allLocal = allLocal && local
                config.argumentIndexes["hypervisor.consoles[\(config.consoles.count)]"] = index
                config.consoles.append(
                    Console(
                        kind: "spice", transport: "tcp", address: NetworkAddress.join(host: address, port: port),
                        localOnly: local, password: password, tls: tls))
            }
        }
        return allLocal
    }
}

/// How many of each list field a configuration has, to attribute new entries to an option.
struct FieldCounts {
    var consoles: Int
    var network: Int
    var passthrough: Int
    var legacyDevices: Int
    var accelerators: Int
    var machine: String?
    var sandbox: QemuOptionList?
    var runAs: String?
    var name: String?

    init(_ config: QemuConfig) {
        consoles = config.consoles.count
        network = config.network.count
        passthrough = config.passthrough.count
        legacyDevices = config.legacyDevices.count
        accelerators = config.accelerators.count
        machine = config.machine
        sandbox = config.sandbox
        runAs = config.runAs
        name = config.name
    }
}

extension QemuConfig {
    mutating func recordArguments(since before: FieldCounts, index: Int) {
        for position in before.consoles..<max(before.consoles, consoles.count) {
            argumentIndexes["hypervisor.consoles[\(position)]"] = index
        }
        for position in before.network..<max(before.network, network.count) {
            argumentIndexes["hypervisor.network[\(position)]"] = index
        }
        for position in before.passthrough..<max(before.passthrough, passthrough.count) {
            argumentIndexes["hypervisor.passthrough[\(position)]"] = index
        }
        if legacyDevices.count > before.legacyDevices { argumentIndexes["hypervisor.legacyDevices"] = index }
        if accelerators.count > before.accelerators, before.accelerators == 0 { argumentIndexes["hypervisor.accelerator"] = index }
        if machine != before.machine { argumentIndexes["hypervisor.machine"] = index }
        if sandbox != before.sandbox { argumentIndexes["hypervisor.sandbox"] = index }
        if runAs != before.runAs { argumentIndexes["hypervisor.user"] = index }
        if name != before.name { argumentIndexes["name"] = index }
    }
}
