use afpool::job::{route, Inventory, RouteSettings};
use afpool::renders::RenderInfo;
use afpool::store::Pool;
use std::time::Instant;
fn main() {
    for (kind, n) in [
        ("num", 5000usize),
        ("num", 50000),
        ("rand", 5000),
        ("rand", 20000),
    ] {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let farm: Vec<String> = (1..=n)
            .map(|i| {
                if kind == "num" {
                    format!("render{i:05}.farm.example")
                } else {
                    (0..14)
                        .map(|_| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            char::from(b'a' + (seed % 26) as u8)
                        })
                        .collect()
                }
            })
            .collect();
        let pools = vec![Pool {
            name: "p".into(),
            hosts: farm[100..125].to_vec(),
        }];
        let inv = Inventory::new(pools, farm.iter().map(|f| RenderInfo::named(f)).collect());
        let body = br#"{"job":{"name":"j","user_name":"u","pool":"p","blocks":[{"tasks":[{"name":"t"}]}]}}"#;
        let t = Instant::now();
        let out = route(body, &RouteSettings::default(), &inv).unwrap();
        let first = t.elapsed();
        let t = Instant::now();
        route(body, &RouteSettings::default(), &inv).unwrap();
        println!(
            "{kind} {n}: first {:?} then {:?} body {} {:?}",
            first,
            t.elapsed(),
            out.body.map(|b| b.len()).unwrap_or(0),
            out.verdict
        );
    }
}
