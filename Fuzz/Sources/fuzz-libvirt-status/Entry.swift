import FuzzTargets

@_cdecl("fuzz_libvirt_status_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("libvirt-status", argc, argv)
}
