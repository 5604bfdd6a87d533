import FuzzTargets

@_cdecl("fuzz_admission_review_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("admission-review", argc, argv)
}
