import FuzzTargets

@_cdecl("fuzz_baseline_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("baseline", argc, argv)
}
