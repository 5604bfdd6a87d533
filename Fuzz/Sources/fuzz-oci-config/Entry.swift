import FuzzTargets

@_cdecl("fuzz_oci_config_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("oci-config", argc, argv)
}
