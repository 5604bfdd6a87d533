import FuzzTargets

@_cdecl("fuzz_ns_link_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("ns-link", argc, argv)
}
