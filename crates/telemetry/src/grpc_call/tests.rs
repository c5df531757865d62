//! Status classification, method names and `grpc-timeout` values.

use super::*;

#[test]
fn method_names_are_the_path_without_its_slash() {
    assert_eq!(
        method_name("/recommendations.v1.RecommendationsService/Recommend"),
        Some("recommendations.v1.RecommendationsService/Recommend")
    );
    assert_eq!(
        method_name("/Recommendations/Recommend"),
        Some("Recommendations/Recommend")
    );
    for bad in [
        "",
        "/",
        "//",
        "/svc",
        "/svc/",
        "//m",
        "/svc/a/b",
        "no-slash/x",
    ] {
        assert_eq!(method_name(bad), None, "{bad}");
    }
}

#[test]
fn only_server_fault_codes_are_server_faults() {
    let faults = [
        Code::Unknown,
        Code::DeadlineExceeded,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
    ];
    for code in faults {
        assert!(is_server_fault(code), "{code:?}");
    }
    for code in [
        Code::Ok,
        Code::NotFound,
        Code::InvalidArgument,
        Code::Cancelled,
        Code::ResourceExhausted,
    ] {
        assert!(!is_server_fault(code), "{code:?}");
    }
}

#[test]
fn code_names_are_the_canonical_constants() {
    assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
    assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
    assert_eq!(code_name(Code::Ok), "OK");
}

#[test]
fn grpc_timeouts_are_read_in_every_unit_and_nothing_else() {
    let read = |value: &str| parse_grpc_timeout(value.as_bytes());
    assert_eq!(read("100m"), Some(Duration::from_millis(100)));
    assert_eq!(read("2S"), Some(Duration::from_secs(2)));
    assert_eq!(read("1H"), Some(Duration::from_secs(3600)));
    assert_eq!(read("3M"), Some(Duration::from_secs(180)));
    assert_eq!(read("99999999u"), Some(Duration::from_micros(99_999_999)));
    assert_eq!(read("5n"), Some(Duration::from_nanos(5)));
    for bad in ["", "m", "100", "100x", "123456789m", "-1m", "1.5S", " 1S"] {
        assert_eq!(read(bad), None, "{bad:?}");
    }
}
