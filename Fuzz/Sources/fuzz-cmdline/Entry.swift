import FuzzTargets

@_cdecl("fuzz_cmdline_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("cmdline", argc, argv)
}
