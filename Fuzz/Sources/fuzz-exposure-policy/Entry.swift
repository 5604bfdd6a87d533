import FuzzTargets

@_cdecl("fuzz_exposure_policy_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("exposure-policy", argc, argv)
}
