import FuzzTargets

@_cdecl("fuzz_compose_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("compose", argc, argv)
}
