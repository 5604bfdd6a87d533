import FuzzTargets

@_cdecl("fuzz_libvirt_qemu_conf_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("libvirt-qemu-conf", argc, argv)
}
