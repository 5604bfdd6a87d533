import FuzzTargets

@_cdecl("fuzz_qemu_options_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("qemu-options", argc, argv)
}
