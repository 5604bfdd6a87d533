import CloisterCodec
import CloisterModel
import Synchronization

/// A posture's JSON tree, built field by field. The same tree as `JSONValue.encode(posture)`
/// (a test holds the two equal on a posture with every field set), at a fraction of the cost:
/// the engine builds one per posture per scan, and the benchmark's budget is 50 µs a posture
/// for the whole pack.
///
/// When the model gains a field: add it here and to `FieldCatalogue.samplePosture()`; the
/// tests fail until both know it.
public enum PostureTree {
    public static func make(_ posture: Posture) -> JSONValue {
        var root: JSONObject = JSONObject(minimumCapacity: 32)
        root["capabilities"] = .object([
            "effective": strings(posture.capabilities.effective),
            "permitted": strings(posture.capabilities.permitted),
            "bounding": strings(posture.capabilities.bounding),
            "ambient": strings(posture.capabilities.ambient),
            "inheritable": strings(posture.capabilities.inheritable),
        ])
        root["mac"] = mac(posture.mac)
        root["namespaces"] = namespaces(posture.namespaces)
        root["user"] = user(posture.user)
        root["mounts"] = .array(posture.mounts.map(mount))
        root["devices"] = .array(posture.devices.map(device))
        root["kind"] = .string(posture.kind.rawValue)
        root["runtime"] = .string(posture.runtime)
        root["id"] = .string(posture.id)
        root["name"] = .string(posture.name)
        root["processes"] = .array(posture.processes.map { .number(Double($0)) })
        root["command"] = strings(posture.command)
        root["source"] = .string(posture.source.rawValue)
        var unknown = JSONObject(minimumCapacity: posture.unknown.count)
        for (path, reason) in posture.unknown { unknown[path.absolute] = .string(reason) }
        root["unknown"] = .object(unknown)
        root["fieldLocations"] = .object(posture.fieldLocations.jsonObject(location))
        root["defaulted"] = strings(posture.defaulted)
        root["pid"] = posture.pid.map { .number(Double($0)) }
        if let seccomp = posture.seccomp {
            var members: JSONObject = ["mode": .string(seccomp.mode.rawValue)]
            members["filters"] = number(seccomp.filters)
            members["threads"] = number(seccomp.threads)
            members["threadsUnfiltered"] = number(seccomp.threadsUnfiltered)
            members["source"] = seccomp.source.map { .string($0.rawValue) }
            if let syscalls = seccomp.syscalls { members["syscalls"] = sharedSyscalls(syscalls) }
            if let reachable = seccomp.reachable {
                var groups = JSONObject(minimumCapacity: 12)
                for (name, path) in SeccompReachable.groups { groups[name] = .string(reachable[keyPath: path].rawValue) }
                members["reachable"] = .object(groups)
            }
            root["seccomp"] = .object(members)
        }
        root["noNewPrivileges"] = posture.noNewPrivileges.map { .bool($0) }
        root["readOnlyRootfs"] = posture.readOnlyRootfs.map { .bool($0) }
        if let cgroup = posture.cgroup { root["cgroup"] = self.cgroup(cgroup) }
        if let exposure = posture.exposure {
            root["exposure"] = .object(["score": .number(exposure.score), "level": .string(exposure.level)])
        }
        if let hypervisor = posture.hypervisor { root["hypervisor"] = self.hypervisor(hypervisor) }
        if let location = posture.location { root["location"] = self.location(location) }
        if let sources = posture.defaultSources { root["defaultSources"] = .object(sources.jsonObject { .string($0) }) }
        if let runtimeClass = posture.runtimeClass { root["runtimeClass"] = .string(runtimeClass) }
        if let ociRuntime = posture.ociRuntime { root["ociRuntime"] = .string(ociRuntime) }
        if let masked = posture.maskedPaths { root["maskedPaths"] = strings(masked) }
        if let readOnly = posture.readOnlyPaths { root["readOnlyPaths"] = strings(readOnly) }
        // Only declared Kubernetes postures have it: the generic encoder costs nothing to a scan.
        if let pod = posture.kubernetes { root["kubernetes"] = kubernetes(pod) }
        if let hooks = posture.hooks {
            root["hooks"] = .array(hooks.map { hook in
                .object(["stage": .string(hook.stage), "path": .string(hook.path), "args": strings(hook.args)])
            })
        }
        if let limits = posture.rlimits {
            root["rlimits"] = .array(limits.map { .object(["name": .string($0.name), "soft": .string($0.soft), "hard": .string($0.hard)]) })
        }
        if let sysctls = posture.sysctls { root["sysctls"] = .object(sysctls.jsonObject { .string($0) }) }
        if let rdt = posture.intelRdt {
            var members = JSONObject(minimumCapacity: 3)
            members["closID"] = rdt.closID.map { .string($0) }
            members["l3CacheSchema"] = rdt.l3CacheSchema.map { .string($0) }
            members["memBwSchema"] = rdt.memBwSchema.map { .string($0) }
            root["intelRdt"] = .object(members)
        }
        if let settings = posture.kernelSettings {
            var members = JSONObject(minimumCapacity: 4)
            members["unprivilegedBPFDisabled"] = number(settings.unprivilegedBPFDisabled)
            members["unprivilegedUserfaultfd"] = number(settings.unprivilegedUserfaultfd)
            members["perfEventParanoid"] = number(settings.perfEventParanoid)
            members["ptraceScope"] = number(settings.ptraceScope)
            root["kernelSettings"] = .object(members)
        }
        if let settings = posture.engineSettings { root["engineSettings"] = engineSettings(settings) }
        if let drift = posture.drift {
            root["drift"] = .array(drift.map { entry in
                .object([
                    "field": .string(entry.field), "declared": .string(entry.declared), "observed": .string(entry.observed),
                    "source": .string(entry.source),
                ])
            })
        }
        return .object(root)
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    static func engineSettings(_ settings: EngineSettings) -> JSONValue {
        var members: JSONObject = ["sources": strings(settings.sources)]
        members["healthCheck"] = settings.healthCheck.map { .bool($0) }
        members["restartPolicy"] = settings.restartPolicy.map { .string($0) }
        members["restartMaxRetries"] = number(settings.restartMaxRetries)
        members["networks"] = settings.networks.map(strings)
        members["publishedPorts"] = settings.publishedPorts.map { ports in
            .array(ports.map { port in
                .object([
                    "hostIP": .string(port.hostIP), "hostPort": .number(Double(port.hostPort)),
                    "containerPort": .number(Double(port.containerPort)), "protocol": .string(port.protocol),
                    "allInterfaces": .bool(port.allInterfaces),
                ])
            })
        }
        members["ulimits"] = settings.ulimits.map { limits in
            .array(limits.map { .object(["name": .string($0.name), "soft": .string($0.soft), "hard": .string($0.hard)]) })
        }
        return .object(members)
    }

    /// The trees of decoded filter stacks, by the storage of their lists: every workload under
    /// the same filter holds the same array, so its tree (three lists of hundreds of names) is
    /// built once; the 64 most recent, for a long-running `serve`.
    private static let syscallTrees = Mutex(StorageKeyedCache<SeccompSyscalls, JSONValue>(limit: 64))

    static func sharedSyscalls(_ lists: [SeccompSyscalls]) -> JSONValue {
        if let known = syscallTrees.withLock({ $0.product(for: lists) }) { return known }
        let tree = JSONValue.array(lists.map(syscalls))
        syscallTrees.withLock { $0.keep(tree, for: lists) }
        return tree
    }

    static func syscalls(_ entry: SeccompSyscalls) -> JSONValue {
        var members: JSONObject = [
            "architecture": .string(entry.architecture), "allowed": .number(Double(entry.allowed)),
            "denied": .number(Double(entry.denied)), "conditional": .number(Double(entry.conditional)),
            "allowedCalls": strings(entry.allowedCalls), "deniedCalls": strings(entry.deniedCalls),
            "conditionalCalls": .array(entry.conditionalCalls.map { call in
                .object([
                    "name": .string(call.name), "complete": .bool(call.complete),
                    "cases": .array(call.cases.map { .object(["when": strings($0.when), "action": .string($0.action)]) }),
                ])
            }),
        ]
        members["undecided"] = number(entry.undecided)
        members["undecidedCalls"] = entry.undecidedCalls.map(strings)
        return .object(members)
    }

    static func kubernetes(_ pod: KubernetesPod) -> JSONValue {
        var members: JSONObject = [
            "kind": .string(pod.kind), "containerGroup": .string(pod.containerGroup),
            "supplementalGroups": .array(pod.supplementalGroups.map { .number(Double($0)) }),
            "sysctls": strings(pod.sysctls), "handlerHosts": strings(pod.handlerHosts),
            "hostPorts": .array(pod.hostPorts.map { port in
                var entry: JSONObject = ["hostPort": .number(Double(port.hostPort))]
                entry["containerPort"] = number(port.containerPort)
                entry["hostIP"] = port.hostIP.map { .string($0) }
                entry["protocol"] = port.protocol.map { .string($0) }
                return .object(entry)
            }),
            "volumes": .array(pod.volumes.map { volume in
                var entry: JSONObject = ["name": .string(volume.name), "type": .string(volume.type), "mounted": .bool(volume.mounted)]
                entry["hostPath"] = volume.hostPath.map { .string($0) }
                entry["hostPathType"] = volume.hostPathType.map { .string($0) }
                return .object(entry)
            }),
        ]
        members["shareProcessNamespace"] = pod.shareProcessNamespace.map { .bool($0) }
        members["automountServiceAccountToken"] = pod.automountServiceAccountToken.map { .bool($0) }
        members["runAsNonRoot"] = pod.runAsNonRoot.map { .bool($0) }
        members["fsGroup"] = number(pod.fsGroup)
        members["procMount"] = pod.procMount.map { .string($0) }
        members["windowsHostProcess"] = pod.windowsHostProcess.map { .bool($0) }
        members["seccompProfileType"] = pod.seccompProfileType.map { .string($0) }
        members["seccompLocalhostProfile"] = pod.seccompLocalhostProfile.map { .string($0) }
        if let verdict = pod.podSecurity {
            members["podSecurity"] = .object(["level": .string(verdict.level), "version": .string(verdict.version)])
        }
        return .object(members)
    }

    static func number<Integer: BinaryInteger>(_ value: Integer?) -> JSONValue? {
        value.map { .number(Double($0)) }
    }

    static func namespaces(_ namespaces: Namespaces) -> JSONValue {
        var members: JSONObject = [:]
        for type in NamespaceType.allCases {
            if let sharing = namespaces[type] { members[type.rawValue] = .string(sharing.rawValue) }
        }
        return .object(members)
    }

    static func idMap(_ range: IDMapRange) -> JSONValue {
        .object([
            "inside": .number(Double(range.inside)), "outside": .number(Double(range.outside)),
            "count": .number(Double(range.count)),
        ])
    }

    static func user(_ user: UserIdentity) -> JSONValue {
        var members: JSONObject = [
            "uidMap": .array(user.uidMap.map(idMap)),
            "gidMap": .array(user.gidMap.map(idMap)),
        ]
        members.add([
            "uid": number(user.uid), "gid": number(user.gid), "hostUid": number(user.hostUid),
            "hostGid": number(user.hostGid), "rootMappedToHost": user.rootMappedToHost.map { .bool($0) },
        ])
        if let groups = user.groups { members["groups"] = .array(groups.map { .number(Double($0)) }) }
        return .object(members)
    }

    static func mac(_ mac: MACLabels) -> JSONValue {
        var members: JSONObject = [:]
        if let apparmor = mac.apparmor {
            var label: JSONObject = ["profile": .string(apparmor.profile), "confined": .bool(apparmor.confined)]
            label["mode"] = apparmor.mode.map { .string($0) }
            members["apparmor"] = .object(label)
        }
        if let selinux = mac.selinux {
            var label: JSONObject = ["context": .string(selinux.context), "confined": .bool(selinux.confined)]
            label["user"] = selinux.user.map { .string($0) }
            label["role"] = selinux.role.map { .string($0) }
            label["type"] = selinux.type.map { .string($0) }
            label["level"] = selinux.level.map { .string($0) }
            label["permissiveDomain"] = selinux.permissiveDomain.map { .bool($0) }
            members["selinux"] = .object(label)
        }
        return .object(members)
    }

    static func device(_ device: Device) -> JSONValue {
        var members: JSONObject = [
            "path": .string(device.path), "access": .string(device.access), "source": .string(device.source.rawValue),
            "standard": .bool(device.standard),
        ]
        members["type"] = device.type.map { .string($0) }
        members["major"] = number(device.major)
        members["minor"] = number(device.minor)
        return .object(members)
    }

    static func mount(_ mount: Mount) -> JSONValue {
        var members: JSONObject = [
            "source": .string(mount.source), "target": .string(mount.target), "readOnly": .bool(mount.readOnly),
            "type": .string(mount.type), "options": strings(mount.options),
        ]
        members["root"] = mount.root.map { .string($0) }
        members["hostPath"] = mount.hostPath.map { .string($0) }
        members["managedBy"] = mount.managedBy.map { .string($0) }
        members["propagation"] = mount.propagation.map { .string($0) }
        return .object(members)
    }

    static func limit(_ limit: Limit?) -> JSONValue? {
        switch limit {
        case .none: nil
        case .max?: .string("max")
        case .value(let number)?: .number(Double(number))
        }
    }

    static func cgroup(_ cgroup: CgroupLimits) -> JSONValue {
        var members: JSONObject = ["version": .string(cgroup.version), "path": .string(cgroup.path)]
        members.add([
            "memoryMax": limit(cgroup.memoryMax), "memorySwapMax": limit(cgroup.memorySwapMax),
            "pidsMax": limit(cgroup.pidsMax), "cpuQuota": limit(cgroup.cpuQuota), "cpuPeriod": number(cgroup.cpuPeriod),
            "cpuWeight": number(cgroup.cpuWeight), "devicesAllowAll": cgroup.devicesAllowAll.map { .bool($0) },
            "cpuPrioritySet": cgroup.cpuPrioritySet.map { .bool($0) },
        ])
        return .object(members)
    }

    static func location(_ location: SourceLocation) -> JSONValue {
        var members: JSONObject = ["file": .string(location.file)]
        members["line"] = number(location.line)
        members["column"] = number(location.column)
        members["path"] = location.path.map { .string($0) }
        return .object(members)
    }

    static func hypervisor(_ hypervisor: Hypervisor) -> JSONValue {
        var members: JSONObject = [
            "emulator": .string(hypervisor.emulator),
            "accelerator": .string(hypervisor.accelerator),
            "sandbox": .object([
                "enabled": .bool(hypervisor.sandbox.enabled),
                "options": .object(hypervisor.sandbox.options.jsonObject { .string($0) }),
            ]),
            "consoles": .array(hypervisor.consoles.map { console in
                var entry: JSONObject = ["kind": .string(console.kind), "transport": .string(console.transport)]
                entry["address"] = console.address.map { .string($0) }
                entry["localOnly"] = console.localOnly.map { .bool($0) }
                entry["password"] = console.password.map { .bool($0) }
                entry["tls"] = console.tls.map { .bool($0) }
                return .object(entry)
            }),
            "network": .array(hypervisor.network.map { backend in
                var entry: JSONObject = ["type": .string(backend.type), "implicit": .bool(backend.implicit)]
                entry["id"] = backend.id.map { .string($0) }
                return .object(entry)
            }),
            "passthrough": .array(hypervisor.passthrough.map {
                .object(["kind": .string($0.kind), "host": .string($0.host)])
            }),
            "legacyDevices": strings(hypervisor.legacyDevices),
            "listening": strings(hypervisor.listening),
        ]
        var user: JSONObject = [:]
        user["uid"] = number(hypervisor.user.uid)
        user["name"] = hypervisor.user.name.map { .string($0) }
        members["user"] = .object(user)
        members["binary"] = hypervisor.binary.map { .string($0) }
        members["vcpus"] = number(hypervisor.vcpus)
        members["machine"] = hypervisor.machine.map { .string($0) }
        members["uuid"] = hypervisor.uuid.map { .string($0) }
        return .object(members)
    }
}

extension JSONObject {
    /// Adds, in order, the members that have a value: a field the posture does not know stays
    /// out of the tree, so a rule sees it as missing.
    mutating func add(_ optionalMembers: KeyValuePairs<String, JSONValue?>) {
        for (key, value) in optionalMembers { self[key] = value }
    }
}
