import FuzzTargets

@_cdecl("fuzz_engine_state_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("engine-state", argc, argv)
}
