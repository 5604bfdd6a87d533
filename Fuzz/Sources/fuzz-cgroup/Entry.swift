import FuzzTargets

@_cdecl("fuzz_cgroup_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("cgroup", argc, argv)
}
