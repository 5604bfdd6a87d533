import FuzzTargets

@_cdecl("fuzz_seccomp_bpf_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("seccomp-bpf", argc, argv)
}
