import FuzzTargets

@_cdecl("fuzz_runc_state_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("runc-state", argc, argv)
}
