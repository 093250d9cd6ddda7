use super::*;

#[test]
fn unencoded_userinfo_is_refused_without_showing_it() {
    for uri in [
        "mongodb://u:pa/ss@h",
        "mongodb://u:12345?x@h",
        "mongodb://u:p@ss@h",
    ] {
        let Err(StoreError::Unavailable(e)) = check_userinfo(uri) else {
            panic!("{uri} accepted");
        };
        assert!(e.contains("percent-encode") && e.contains("u:***@h"), "{e}");
    }
    assert!(check_userinfo("mongodb://u:pa%2Fss@h/?w=a@b").is_ok());
    assert!(check_userinfo("mongodb://h").is_ok());
}

#[test]
fn reads_documents_tolerantly() {
    let doc = doc! {
        "_id": 1, "name": "comp", "extra": true,
        "clients": [
            { "hostname": "PC-1", "engine": "", "ip": "", "port": "" },
            { "hostname": "pc-1" }, 7, { "engine": "" }, { "hostname": "pc-2", "x": 1 },
        ],
    };
    let pool = pool_from_doc(&doc).unwrap();
    assert_eq!(pool.hosts, ["PC-1", "pc-2"]);
    assert_eq!(pool.legacy_id, None);
    let oid = bson::oid::ObjectId::parse_str("5cf4e2a1b2c3d4e5f6a7b8c9").unwrap();
    let with_id = pool_from_doc(&doc! { "_id": oid, "name": "x" }).unwrap();
    assert_eq!(
        with_id.legacy_id.as_deref(),
        Some("5cf4e2a1b2c3d4e5f6a7b8c9")
    );
    assert!(pool_from_doc(&doc! { "name": "empty" })
        .unwrap()
        .hosts
        .is_empty());
    assert!(pool_from_doc(&doc! { "clients": [] }).is_none());
}
