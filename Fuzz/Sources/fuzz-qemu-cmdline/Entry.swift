import FuzzTargets

@_cdecl("fuzz_qemu_cmdline_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("qemu-cmdline", argc, argv)
}
