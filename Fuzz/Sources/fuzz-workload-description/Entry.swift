import FuzzTargets

@_cdecl("fuzz_workload_description_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("workload-description", argc, argv)
}
