//! Writes a large, deterministic capture for the benchmarks (bench/replay_vs_tshark.py,
//! bench/dissectors.py). `http` (the default): mixed HTTP/1.1 and DNS — many concurrent
//! keep-alive connections with GETs and POSTs, Content-Length and chunked responses split
//! at the MSS, and DNS over UDP from many client ports. `redis`: connections to port 6379
//! sending pipelined batches of 1 to 8 commands (SET, GET, HGETALL, INCR, LRANGE) and
//! getting their replies. `tls`: connections to port 443, each a ClientHello (SNI, ALPN,
//! GREASE, 16 suites) and ServerHello, then encrypted records both ways. `postgres`:
//! connections to 5432, each a startup, then simple queries answered with a row
//! description, 1 to 20 data rows, a command tag and Ready for Query. `mysql`: connections
//! to 3306, each a greeting and login, then queries answered with a result set of 1 to 20
//! rows or an OK. `kafka`: connections to 9092 sending pipelined batches of 1 to 4
//! requests — Produce v8 of 1 to 20 records, Fetch v11, Metadata v9 (flexible), the newest
//! versions tshark 4.0 reads — answered in order. `amqp`: connections to 5672, each the protocol header and the connection and
//! channel handshakes, then batches of Basic.Publish (method, content header, body), the
//! Basic.Deliver of each and, now and then, a Queue.Declare. The same arguments always
//! give the same bytes.
//!
//! cargo run --release -p remora-sidecar --example synth_capture -- OUT.pcap [PACKETS] [http|http-bodies|redis|tls|postgres|mysql|kafka|amqp]

use std::net::Ipv4Addr;

use pcap::{Capture, Linktype, Packet, PacketHeader};

const MSS: usize = 1448;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Writer {
    out: pcap::Savefile,
    ts_us: i64,
    packets: u64,
    bytes: u64,
}

impl Writer {
    fn frame(&mut self, src: Ipv4Addr, dst: Ipv4Addr, transport: &[u8], protocol: u8) {
        let total = 20 + transport.len();
        let mut f = Vec::with_capacity(14 + total);
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, protocol, 0, 0]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(transport);
        // 20k packets a second: flows come and go as in a busy pod, not all at once.
        self.ts_us += 50;
        let header = PacketHeader {
            ts: libc_timeval(self.ts_us),
            caplen: f.len() as u32,
            len: f.len() as u32,
        };
        self.out.write(&Packet::new(&header, &f));
        self.packets += 1;
        self.bytes += f.len() as u64;
    }
}

fn libc_timeval(us: i64) -> libc::timeval {
    libc::timeval { tv_sec: (1_764_000_000 + us / 1_000_000) as libc::time_t, tv_usec: (us % 1_000_000) as libc::suseconds_t }
}

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[(len >> 8) as u8, len as u8, 0, 0]);
    u.extend_from_slice(payload);
    u
}

/// One TCP connection's state: addresses and next sequence numbers.
struct Conn {
    client: Ipv4Addr,
    server: Ipv4Addr,
    cport: u16,
    cseq: u32,
    sseq: u32,
    exchanges_left: u32,
    opened: bool,
    /// The server's port: 80, 6379 for Redis, 443 for TLS.
    port: u16,
    /// TLS, PostgreSQL, MySQL, AMQP: the handshake was sent.
    shook: bool,
    /// Kafka's next correlation id, AMQP's next delivery tag.
    next_id: u32,
    /// HTTP: JSON bodies of 1 to 4 KB (`http-bodies`) instead of the small ones.
    bodies: bool,
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

impl Conn {
    fn send_client(&mut self, w: &mut Writer, flags: u8, payload: &[u8]) {
        for piece in chunks(payload) {
            w.frame(self.client, self.server, &tcp(self.cport, self.port, self.cseq, self.sseq, flags, piece), 6);
            self.cseq = self.cseq.wrapping_add(piece.len() as u32);
        }
    }

    fn send_server(&mut self, w: &mut Writer, flags: u8, payload: &[u8]) {
        for piece in chunks(payload) {
            w.frame(self.server, self.client, &tcp(self.port, self.cport, self.sseq, self.cseq, flags, piece), 6);
            self.sseq = self.sseq.wrapping_add(piece.len() as u32);
        }
    }

    fn ack_from_client(&self, w: &mut Writer) {
        w.frame(self.client, self.server, &tcp(self.cport, self.port, self.cseq, self.sseq, ACK, &[]), 6);
    }

    fn step(&mut self, w: &mut Writer, rng: &mut Rng) -> bool {
        if !self.opened {
            self.opened = true;
            w.frame(self.client, self.server, &tcp(self.cport, self.port, self.cseq, 0, SYN, &[]), 6);
            self.cseq = self.cseq.wrapping_add(1);
            w.frame(self.server, self.client, &tcp(self.port, self.cport, self.sseq, self.cseq, SYN | ACK, &[]), 6);
            self.sseq = self.sseq.wrapping_add(1);
            self.ack_from_client(w);
            return true;
        }
        if self.exchanges_left == 0 {
            w.frame(self.client, self.server, &tcp(self.cport, self.port, self.cseq, self.sseq, FIN_ACK, &[]), 6);
            self.cseq = self.cseq.wrapping_add(1);
            w.frame(self.server, self.client, &tcp(self.port, self.cport, self.sseq, self.cseq, FIN_ACK, &[]), 6);
            self.sseq = self.sseq.wrapping_add(1);
            self.ack_from_client(w);
            return false;
        }
        self.exchanges_left -= 1;
        if self.port == 3306 {
            let (client, server) = if self.shook {
                my_query(rng)
            } else {
                // The server greets first.
                self.shook = true;
                self.send_server(w, PSH_ACK, &my_greeting());
                my_login()
            };
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 9092 {
            let (client, server) = kafka_batch(rng, &mut self.next_id);
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 5672 {
            if !self.shook {
                self.shook = true;
                for (client, server) in amqp_handshake() {
                    self.send_client(w, PSH_ACK, &client);
                    self.send_server(w, PSH_ACK, &server);
                }
            }
            let (client, server) = amqp_batch(rng, &mut self.next_id);
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 5432 {
            let (client, server) = if self.shook { pg_query(rng) } else { self.shook = true; pg_startup() };
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 443 {
            let (client, server) = if self.shook {
                (app_data(200 + rng.below(600) as usize), app_data(500 + rng.below(4000) as usize))
            } else {
                self.shook = true;
                (client_hello(rng), server_hello())
            };
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 8080 {
            let (client, server) = if self.shook {
                ws_exchange(rng)
            } else {
                self.shook = true;
                (WS_UPGRADE.to_vec(), WS_SWITCHED.to_vec())
            };
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 50051 {
            // Identifiers rise as the calls left fall (at most 20 per connection).
            let stream = 2 * (32 - self.exchanges_left) + 1;
            let (mut client, mut server) = grpc_call(stream, rng);
            if !self.shook {
                self.shook = true;
                client.splice(0..0, [PREFACE, &h2_frame(4, 0, 0, &[])].concat());
                server.splice(0..0, h2_frame(4, 0, 0, &[]));
            }
            self.send_client(w, PSH_ACK, &client);
            self.send_server(w, PSH_ACK, &server);
            self.ack_from_client(w);
            return true;
        }
        if self.port == 6379 {
            let (commands, replies) = redis_batch(rng);
            self.send_client(w, PSH_ACK, &commands);
            self.send_server(w, PSH_ACK, &replies);
            self.ack_from_client(w);
            return true;
        }
        let item = rng.below(100_000);
        let (request, response) = match (rng.below(10), self.bodies) {
            (0..=5, false) => (get(item), json_response(item, rng, false)),
            (6 | 7, false) => (get(item), json_response(item, rng, true)),
            (8, false) => (post(item, rng), created(item)),
            (0..=5, true) => (get(item), sized_json_response(item, rng, false)),
            (6 | 7, true) => (get(item), sized_json_response(item, rng, true)),
            (8, true) => (sized_post(item, rng), created(item)),
            _ => (get(item + 1_000_000), not_found()),
        };
        self.send_client(w, PSH_ACK, &request);
        self.send_server(w, PSH_ACK, &response);
        self.ack_from_client(w);
        true
    }
}

fn chunks(payload: &[u8]) -> Vec<&[u8]> {
    if payload.is_empty() {
        vec![payload]
    } else {
        payload.chunks(MSS).collect()
    }
}

fn get(item: u64) -> Vec<u8> {
    format!(
        "GET /api/v1/catalogue/items/{item}?fields=name,price&currency=EUR HTTP/1.1\r\nHost: shop.remora.test\r\nUser-Agent: bench/1.0\r\nAccept: application/json\r\nAccept-Encoding: identity\r\nX-Request-Id: {item:016x}\r\n\r\n"
    )
    .into_bytes()
}

fn post(item: u64, rng: &mut Rng) -> Vec<u8> {
    let body = format!("{{\"item\":{item},\"quantity\":{},\"note\":\"{}\"}}", rng.below(9) + 1, "x".repeat(rng.below(200) as usize));
    format!("POST /api/v1/cart HTTP/1.1\r\nHost: shop.remora.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// A JSON document of 1 to 4 KB: an order with its lines.
fn sized_json_body(item: u64, rng: &mut Rng) -> String {
    let size = 1024 + rng.below(3 * 1024 + 1) as usize;
    let mut lines = Vec::new();
    let mut body = String::new();
    while body.len() < size {
        let n = lines.len();
        lines.push(format!(
            "{{\"sku\":\"SKU-{:06}\",\"name\":\"Catalogue item {n} of order {item}\",\"quantity\":{},\"price\":{}.{:02},\"note\":\"gift \\\"wrapped\\\"\"}}",
            rng.below(1_000_000),
            rng.below(9) + 1,
            rng.below(500),
            rng.below(100)
        ));
        body = format!("{{\"order\":{item},\"currency\":\"EUR\",\"lines\":[{}]}}", lines.join(","));
    }
    body
}

fn sized_post(item: u64, rng: &mut Rng) -> Vec<u8> {
    let body = sized_json_body(item, rng);
    format!("POST /api/v1/cart HTTP/1.1\r\nHost: shop.remora.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn sized_json_response(item: u64, rng: &mut Rng, chunked: bool) -> Vec<u8> {
    let body = sized_json_body(item, rng);
    json_response_of(body, chunked)
}

fn json_body(item: u64, rng: &mut Rng) -> String {
    let tags: Vec<String> = (0..rng.below(40) + 1).map(|t| format!("\"tag-{t}-{}\"", rng.below(1000))).collect();
    format!("{{\"id\":{item},\"name\":\"Item {item}\",\"price\":{}.{:02},\"tags\":[{}]}}", rng.below(500), rng.below(100), tags.join(","))
}

fn json_response(item: u64, rng: &mut Rng, chunked: bool) -> Vec<u8> {
    json_response_of(json_body(item, rng), chunked)
}

fn json_response_of(body: String, chunked: bool) -> Vec<u8> {
    if chunked {
        let (a, b) = body.split_at(body.len() / 2);
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nServer: bench\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len()).into_bytes()
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nServer: bench\r\nCache-Control: max-age=60\r\n\r\n{body}", body.len()).into_bytes()
    }
}

fn created(item: u64) -> Vec<u8> {
    let body = format!("{{\"cart\":\"c-{item}\"}}");
    format!("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nLocation: /api/v1/cart/c-{item}\r\n\r\n{body}", body.len()).into_bytes()
}

fn not_found() -> Vec<u8> {
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found".to_vec()
}

fn my_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
    p.extend_from_slice(payload);
    p
}

fn my_greeting() -> Vec<u8> {
    let mut greeting = vec![0x0a];
    greeting.extend_from_slice(b"8.0.36\0");
    greeting.extend_from_slice(&[1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0xff, 0xf7, 0x21, 2, 0, 0xff, 0xc1]);
    my_packet(0, &greeting)
}

/// The login and the server's OK.
fn my_login() -> (Vec<u8>, Vec<u8>) {
    let mut login = (0x0200u32 | 0x0008).to_le_bytes().to_vec();
    login.extend_from_slice(&[0; 28]);
    login.extend_from_slice(b"shop\0\x01\x00orders\0");
    (my_packet(1, &login), my_packet(2, &[0, 0, 0, 2, 0, 0, 0]))
}

fn my_column(name: &str) -> Vec<u8> {
    let mut c = Vec::new();
    for part in ["def", "shop", "orders", "orders", name, name] {
        c.push(part.len() as u8);
        c.extend_from_slice(part.as_bytes());
    }
    c.extend_from_slice(&[0x0c, 0x21, 0, 0xff, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0]);
    c
}

fn my_query(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let id = rng.below(100_000);
    if rng.below(4) == 0 {
        let client = my_packet(0, format!("\x03UPDATE orders SET status = 'shipped' WHERE id = {id}").as_bytes());
        return (client, my_packet(1, &[0, 1, 0, 2, 0, 0, 0]));
    }
    let client = my_packet(0, format!("\x03SELECT id, customer, total, status FROM orders WHERE customer_id = {id} ORDER BY created_at DESC LIMIT 20").as_bytes());
    let mut server = my_packet(1, &[4]);
    let mut seq = 2;
    for column in ["id", "customer", "total", "status"] {
        server.extend(my_packet(seq, &my_column(column)));
        seq += 1;
    }
    server.extend(my_packet(seq, &[0xfe, 0, 0, 2, 0]));
    for row in 0..rng.below(20) + 1 {
        seq = seq.wrapping_add(1);
        let mut data = Vec::new();
        for value in [format!("{}", id * 100 + row), format!("customer-{id}"), format!("{}.{:02}", rng.below(1000), rng.below(100)), "shipped".to_string()] {
            data.push(value.len() as u8);
            data.extend_from_slice(value.as_bytes());
        }
        server.extend(my_packet(seq, &data));
    }
    server.extend(my_packet(seq.wrapping_add(1), &[0xfe, 0, 0, 2, 0]));
    (client, server)
}

fn pg_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn pg_startup() -> (Vec<u8>, Vec<u8>) {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0shop\0database\0orders\0application_name\0checkout\0\0");
    let mut client = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    client.extend(body);
    let mut server = pg_message(b'R', &[0, 0, 0, 0]);
    server.extend(pg_message(b'S', b"server_version\x0016.2\0"));
    server.extend(pg_message(b'Z', b"I"));
    (client, server)
}

fn pg_query(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let id = rng.below(100_000);
    let client = pg_message(b'Q', format!("SELECT id, customer, total, status FROM orders WHERE customer_id = {id} ORDER BY created_at DESC LIMIT 20\0").as_bytes());
    let mut description = vec![0, 4];
    for column in ["id", "customer", "total", "status"] {
        description.extend_from_slice(column.as_bytes());
        description.extend_from_slice(&[0, 0, 0, 0x40, 0, 0, 1, 0, 0, 0, 0x17, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0]);
    }
    let mut server = pg_message(b'T', &description);
    let rows = rng.below(20) + 1;
    for row in 0..rows {
        let mut data = vec![0, 4];
        for value in [format!("{}", id * 100 + row), format!("customer-{id}"), format!("{}.{:02}", rng.below(1000), rng.below(100)), "shipped".to_string()] {
            data.extend_from_slice(&(value.len() as u32).to_be_bytes());
            data.extend_from_slice(value.as_bytes());
        }
        server.extend(pg_message(b'D', &data));
    }
    server.extend(pg_message(b'C', format!("SELECT {rows}\0").as_bytes()));
    server.extend(pg_message(b'Z', b"I"));
    (client, server)
}

fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3, (body.len() >> 8) as u8, body.len() as u8];
    r.extend_from_slice(body);
    r
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
    h.extend_from_slice(body);
    h
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend_from_slice(&(body.len() as u16).to_be_bytes());
    e.extend_from_slice(body);
    e
}

/// A browser-like ClientHello record for one of 1000 host names.
fn client_hello(rng: &mut Rng) -> Vec<u8> {
    let name = format!("api-{}.shop.example", rng.below(1000));
    let mut sni = vec![0, (name.len() + 3) as u8, 0, 0, name.len() as u8];
    sni.extend_from_slice(name.as_bytes());
    let alpn = [0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1'];
    let mut extensions = extension(0x0a0a, &[]);
    extensions.extend(extension(0, &sni));
    extensions.extend(extension(16, &alpn));
    extensions.extend(extension(43, &[6, 0x8a, 0x8a, 3, 4, 3, 3]));
    extensions.extend(extension(51, &[0; 38]));
    let suites: [u16; 16] = [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
    let mut body = vec![3, 3];
    body.extend((0..32).map(|_| rng.below(256) as u8));
    body.push(0);
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    body.extend(suites.iter().flat_map(|s| s.to_be_bytes()));
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    record(22, &handshake(1, &body))
}

fn server_hello() -> Vec<u8> {
    let mut extensions = extension(43, &[3, 4]);
    extensions.extend(extension(51, &[0; 36]));
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0);
    body.extend_from_slice(&[0x13, 0x01, 0]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    let mut flight = record(22, &handshake(2, &body));
    flight.extend(record(20, &[1]));
    flight.extend(app_data(2500));
    flight
}

fn app_data(len: usize) -> Vec<u8> {
    record(23, &vec![0x77; len])
}

const WS_UPGRADE: &[u8] = b"GET /events HTTP/1.1\r\nHost: shop.svc:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const WS_SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

/// One WebSocket frame; client frames are masked.
fn ws_frame(opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if payload.len() < 126 {
        out.push(m | payload.len() as u8);
    } else {
        out.push(m | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A JSON event from the client and the server's answer, or now and then a ping and pong.
fn ws_exchange(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let key = (rng.next() as u32).to_be_bytes();
    if rng.below(8) == 0 {
        return (ws_frame(9, Some(key), b"keepalive"), ws_frame(10, None, b"keepalive"));
    }
    let event = format!("{{\"type\":\"cart.update\",\"item\":{},\"qty\":{},\"note\":\"{}\"}}", rng.below(100_000), rng.below(9) + 1, "x".repeat(rng.below(300) as usize));
    let answer = format!("{{\"ok\":true,\"total\":{}}}", rng.below(1_000_000));
    (ws_frame(1, Some(key), event.as_bytes()), ws_frame(1, None, answer.as_bytes()))
}

/// An ICMP echo request from one of 64 hosts and, mostly, its reply; now and then a port
/// unreachable quoting a UDP datagram.
fn icmp_step(w: &mut Writer, rng: &mut Rng, seq: &mut u16, server: Ipv4Addr) {
    *seq = seq.wrapping_add(1);
    let host = rng.below(64) as u8;
    let client = Ipv4Addr::new(10, 244, 2, host + 1);
    let echo = |kind: u8| {
        let mut m = vec![kind, 0, 0, 0, 0, host, (*seq >> 8) as u8, *seq as u8];
        m.extend_from_slice(&[0x5a; 56]);
        m
    };
    w.frame(client, server, &echo(8), 1);
    match rng.below(20) {
        0 => {}
        1 => {
            let mut error = vec![3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 36, 0, 0, 0, 0, 64, 17, 0, 0];
            error.extend_from_slice(&client.octets());
            error.extend_from_slice(&server.octets());
            error.extend_from_slice(&[0x75, 0x30, 0x1f, 0x90, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
            w.frame(server, client, &error, 1);
        }
        _ => w.frame(server, client, &echo(0), 1),
    }
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK literal field without indexing (RFC 7541 §6.2.2), its name from the static
/// table (`name_index`) or, when 0, given; values are not Huffman-coded.
fn hpack_literal(name_index: u8, name: &str, value: &str) -> Vec<u8> {
    let mut out = if name_index < 15 { vec![name_index] } else { vec![15, name_index - 15] };
    for text in if name_index == 0 { vec![name, value] } else { vec![value] } {
        out.push(text.len() as u8);
        out.extend_from_slice(text.as_bytes());
    }
    out
}

/// A unary gRPC call on `stream`: request headers and message, response headers, message
/// and trailers (protobuf fields: a string, a varint, a nested message).
fn grpc_call(stream: u32, rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let method = ["GetUser", "ListOrders", "UpdateCart", "Ping"][rng.below(4) as usize];
    let mut headers = vec![0x83, 0x86];
    headers.extend(hpack_literal(4, "", &format!("/shop.v1.Shop/{method}")));
    headers.extend(hpack_literal(1, "", "shop.svc:50051"));
    headers.extend(hpack_literal(31, "", "application/grpc"));
    headers.extend(hpack_literal(0, "te", "trailers"));
    let message = |rng: &mut Rng| {
        let name = format!("user-{}", rng.below(100_000));
        let mut m = vec![0x0a, name.len() as u8];
        m.extend_from_slice(name.as_bytes());
        m.extend([0x10, 0x96, 0x01, 0x1a, 0x04, 0x08, rng.below(100) as u8, 0x10, 0x01]);
        let mut framed = vec![0, 0, 0, 0, m.len() as u8];
        framed.extend(m);
        framed
    };
    let mut client = h2_frame(1, 0x4, stream, &headers);
    client.extend(h2_frame(0, 0x1, stream, &message(rng)));
    let mut reply = vec![0x88];
    reply.extend(hpack_literal(31, "", "application/grpc"));
    let mut server = h2_frame(1, 0x4, stream, &reply);
    for _ in 0..rng.below(3) + 1 {
        server.extend(h2_frame(0, 0, stream, &message(rng)));
    }
    let status = if rng.below(10) == 0 { "5" } else { "0" };
    server.extend(h2_frame(1, 0x5, stream, &hpack_literal(0, "grpc-status", status)));
    (client, server)
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

fn command(words: &[&str]) -> String {
    format!("*{}\r\n{}", words.len(), words.iter().map(|w| bulk(w)).collect::<String>())
}

/// 1 to 8 pipelined commands and their replies.
fn redis_batch(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let (mut commands, mut replies) = (String::new(), String::new());
    for _ in 0..rng.below(8) + 1 {
        let key = format!("user:{}", rng.below(100_000));
        match rng.below(5) {
            0 => {
                let value = "v".repeat(50 + rng.below(450) as usize);
                commands.push_str(&command(&["SET", &key, &value]));
                replies.push_str("+OK\r\n");
            }
            1 => {
                commands.push_str(&command(&["GET", &key]));
                if rng.below(5) == 0 {
                    replies.push_str("$-1\r\n");
                } else {
                    replies.push_str(&bulk(&format!("{{\"name\":\"{key}\",\"visits\":{}}}", rng.below(1000))));
                }
            }
            2 => {
                commands.push_str(&command(&["HGETALL", &key]));
                let fields = rng.below(6) + 1;
                replies.push_str(&format!("*{}\r\n", fields * 2));
                for f in 0..fields {
                    replies.push_str(&bulk(&format!("field{f}")));
                    replies.push_str(&bulk(&format!("value-{}", rng.below(1_000_000))));
                }
            }
            3 => {
                commands.push_str(&command(&["INCR", &format!("counter:{}", rng.below(100))]));
                replies.push_str(&format!(":{}\r\n", rng.below(1_000_000)));
            }
            _ => {
                commands.push_str(&command(&["LRANGE", &key, "0", "9"]));
                let n = rng.below(10);
                replies.push_str(&format!("*{n}\r\n"));
                for i in 0..n {
                    replies.push_str(&bulk(&format!("event-{i}-{}", rng.below(1_000_000))));
                }
            }
        }
    }
    (commands.into_bytes(), replies.into_bytes())
}

/// A Kafka frame: the length, then the message.
fn kafka_frame(message: Vec<u8>) -> Vec<u8> {
    let mut f = (message.len() as u32).to_be_bytes().to_vec();
    f.extend(message);
    f
}

/// A request header (v2 when `flexible`: tagged fields after the client id).
fn kafka_request_header(key: i16, version: i16, correlation_id: u32, flexible: bool) -> Vec<u8> {
    let mut m = [key.to_be_bytes(), version.to_be_bytes()].concat();
    m.extend_from_slice(&correlation_id.to_be_bytes());
    m.extend_from_slice(b"\x00\x0ccheckout-svc");
    if flexible {
        m.push(0);
    }
    m
}

fn compact_str(text: &str) -> Vec<u8> {
    let mut s = vec![text.len() as u8 + 1];
    s.extend_from_slice(text.as_bytes());
    s
}

fn kafka_str(text: &str) -> Vec<u8> {
    let mut s = (text.len() as u16).to_be_bytes().to_vec();
    s.extend_from_slice(text.as_bytes());
    s
}

/// A magic-2 record batch of `records` records of about 200 bytes each (not a valid
/// CRC: dissectors read the header).
fn record_batch(records: u32) -> Vec<u8> {
    let payload = records as usize * 200;
    let mut b = vec![0; 61 + payload];
    b[8..12].copy_from_slice(&((49 + payload) as u32).to_be_bytes());
    b[16] = 2;
    b[57..61].copy_from_slice(&records.to_be_bytes());
    let filler = b"{\"order\":42,\"status\":\"paid\"}";
    for (i, byte) in b[61..].iter_mut().enumerate() {
        *byte = filler[i % filler.len()];
    }
    b
}

/// 1 to 4 pipelined Kafka requests and their responses.
fn kafka_batch(rng: &mut Rng, next_id: &mut u32) -> (Vec<u8>, Vec<u8>) {
    let (mut client, mut server) = (Vec::new(), Vec::new());
    for _ in 0..rng.below(4) + 1 {
        let id = *next_id;
        *next_id += 1;
        let topic = format!("orders-{}", rng.below(50));
        let partition = rng.below(12) as u32;
        match rng.below(4) {
            0 | 1 => {
                // Produce v8 (the newest tshark 4.0 reads): classic encodings.
                let mut m = kafka_request_header(0, 8, id, false);
                m.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30, 0, 0, 0, 1]);
                m.extend(kafka_str(&topic));
                m.extend_from_slice(&1u32.to_be_bytes());
                m.extend_from_slice(&partition.to_be_bytes());
                let records = record_batch(rng.below(20) as u32 + 1);
                m.extend_from_slice(&(records.len() as u32).to_be_bytes());
                m.extend(records);
                client.extend(kafka_frame(m));
                let mut r = id.to_be_bytes().to_vec();
                r.extend_from_slice(&1u32.to_be_bytes());
                r.extend(kafka_str(&topic));
                r.extend_from_slice(&1u32.to_be_bytes());
                r.extend_from_slice(&partition.to_be_bytes());
                r.extend_from_slice(&[0, 0]);
                r.extend_from_slice(&u64::from(id).to_be_bytes());
                r.extend_from_slice(&[0xff; 8]);
                r.extend_from_slice(&[0; 8]);
                r.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
                server.extend(kafka_frame(r));
            }
            2 => {
                // Fetch v11: classic encodings.
                let mut m = kafka_request_header(1, 11, id, false);
                m.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0xf4, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
                m.extend_from_slice(&1u32.to_be_bytes());
                m.extend(kafka_str(&topic));
                m.extend_from_slice(&1u32.to_be_bytes());
                m.extend_from_slice(&partition.to_be_bytes());
                m.extend_from_slice(&[0; 4 + 8 + 8]);
                m.extend_from_slice(&(1u32 << 20).to_be_bytes());
                m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
                client.extend(kafka_frame(m));
                let mut r = id.to_be_bytes().to_vec();
                r.extend_from_slice(&[0; 4 + 2 + 4]);
                r.extend_from_slice(&1u32.to_be_bytes());
                r.extend(kafka_str(&topic));
                r.extend_from_slice(&1u32.to_be_bytes());
                r.extend_from_slice(&partition.to_be_bytes());
                r.extend_from_slice(&[0; 2 + 8 + 8 + 8]);
                r.extend_from_slice(&[0xff; 8]);
                let records = record_batch(rng.below(10) as u32 + 1);
                r.extend_from_slice(&(records.len() as u32).to_be_bytes());
                r.extend(records);
                server.extend(kafka_frame(r));
            }
            _ => {
                // Metadata v9 (flexible, the newest tshark 4.0 reads): one topic.
                let mut m = kafka_request_header(3, 9, id, true);
                m.push(2);
                m.extend(compact_str(&topic));
                m.extend_from_slice(&[0, 1, 0, 0, 0]);
                client.extend(kafka_frame(m));
                let mut r = id.to_be_bytes().to_vec();
                r.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 0, 1]);
                r.extend(compact_str("kafka-0.kafka"));
                r.extend_from_slice(&[0, 0, 0x23, 0x84, 0, 0]);
                r.extend(compact_str("cluster-1"));
                r.extend_from_slice(&[0, 0, 0, 1, 2, 0, 0]);
                r.extend(compact_str(&topic));
                r.extend_from_slice(&[0, 2, 0, 0]);
                r.extend_from_slice(&partition.to_be_bytes());
                r.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                server.extend(kafka_frame(r));
            }
        }
    }
    (client, server)
}

fn amqp_frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![kind];
    f.extend_from_slice(&channel.to_be_bytes());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f.push(0xce);
    f
}

fn amqp_method(channel: u16, class: u16, id: u16, args: &[u8]) -> Vec<u8> {
    let mut p = [class.to_be_bytes(), id.to_be_bytes()].concat();
    p.extend_from_slice(args);
    amqp_frame(1, channel, &p)
}

fn short_str(text: &str) -> Vec<u8> {
    let mut s = vec![text.len() as u8];
    s.extend_from_slice(text.as_bytes());
    s
}

/// The protocol header and the connection and channel handshakes, as round trips.
fn amqp_handshake() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut start = vec![0, 9, 0, 0, 0, 0];
    start.extend_from_slice(&[0, 0, 0, 5]);
    start.extend_from_slice(b"PLAIN");
    start.extend_from_slice(&[0, 0, 0, 5]);
    start.extend_from_slice(b"en_US");
    let mut start_ok = vec![0, 0, 0, 0];
    start_ok.extend(short_str("PLAIN"));
    start_ok.extend_from_slice(&[0, 0, 0, 12]);
    start_ok.extend_from_slice(b"\0guest\0guest");
    start_ok.extend(short_str("en_US"));
    let tune = [0x07, 0xff, 0, 2, 0, 0, 0, 60];
    let mut open = short_str("/");
    open.extend_from_slice(&[0, 0]);
    let client_hello = b"AMQP\x00\x00\x09\x01".to_vec();
    let mut tune_ok = amqp_method(0, 10, 31, &tune);
    tune_ok.extend(amqp_method(0, 10, 40, &open));
    vec![
        (client_hello, amqp_method(0, 10, 10, &start)),
        (amqp_method(0, 10, 11, &start_ok), amqp_method(0, 10, 30, &tune)),
        (tune_ok, amqp_method(0, 10, 41, &[0])),
        (amqp_method(1, 20, 10, &[0]), amqp_method(1, 20, 11, &[0, 0, 0, 0])),
    ]
}

/// Basic.Publish with its content header (content type, delivery mode) and body.
fn amqp_message(method: Vec<u8>, body: &[u8]) -> Vec<u8> {
    let mut header = vec![0, 60, 0, 0];
    header.extend_from_slice(&(body.len() as u64).to_be_bytes());
    header.extend_from_slice(&0x9000u16.to_be_bytes());
    header.extend(short_str("application/json"));
    header.push(2);
    let mut m = method;
    m.extend(amqp_frame(2, 1, &header));
    m.extend(amqp_frame(3, 1, body));
    m
}

/// 1 to 4 messages published and delivered back, and now and then a Queue.Declare.
fn amqp_batch(rng: &mut Rng, next_tag: &mut u32) -> (Vec<u8>, Vec<u8>) {
    let (mut client, mut server) = (Vec::new(), Vec::new());
    if rng.below(8) == 0 {
        let queue = format!("jobs-{}", rng.below(100));
        let mut args = vec![0, 0];
        args.extend(short_str(&queue));
        args.extend_from_slice(&[2, 0, 0, 0, 0]);
        client.extend(amqp_method(1, 50, 10, &args));
        let mut ok = short_str(&queue);
        ok.extend_from_slice(&(rng.below(1000) as u32).to_be_bytes());
        ok.extend_from_slice(&1u32.to_be_bytes());
        server.extend(amqp_method(1, 50, 11, &ok));
    }
    for _ in 0..rng.below(4) + 1 {
        let key = format!("order.{}", ["created", "paid", "shipped"][rng.below(3) as usize]);
        let body = format!("{{\"order\":{},\"note\":\"{}\"}}", rng.below(100_000), "x".repeat(rng.below(400) as usize));
        let mut publish = vec![0, 0];
        publish.extend(short_str("shop"));
        publish.extend(short_str(&key));
        publish.push(0);
        client.extend(amqp_message(amqp_method(1, 60, 40, &publish), body.as_bytes()));
        let mut deliver = short_str("ctag-1");
        deliver.extend_from_slice(&u64::from(*next_tag).to_be_bytes());
        *next_tag += 1;
        deliver.push(0);
        deliver.extend(short_str("shop"));
        deliver.extend(short_str(&key));
        server.extend(amqp_message(amqp_method(1, 60, 60, &deliver), body.as_bytes()));
    }
    (client, server)
}

/// A DNS query (`response: None`), or its response: an A record, or NXDOMAIN when
/// the address is `None`.
fn dns_message(id: u16, name: &str, response: Option<Option<Ipv4Addr>>) -> Vec<u8> {
    let (flags, answers) = match response {
        None => ([0x01, 0x00], 0),
        Some(Some(_)) => ([0x81, 0x80], 1),
        Some(None) => ([0x81, 0x83], 0),
    };
    let mut m = vec![(id >> 8) as u8, id as u8, flags[0], flags[1], 0, 1, 0, answers, 0, 0, 0, 0];
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(Some(ip)) = response {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
        m.extend_from_slice(&ip.octets());
    }
    m
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out_path = args.next().unwrap_or_else(|| {
        eprintln!("usage: synth_capture OUT.pcap [PACKETS]");
        std::process::exit(2)
    });
    let target: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let kind = args.next();
    let bodies = kind.as_deref() == Some("http-bodies");
    let port = match kind.as_deref() {
        None | Some("http") | Some("http-bodies") => 80,
        Some("redis") => 6379,
        Some("tls") => 443,
        Some("postgres") => 5432,
        Some("mysql") => 3306,
        Some("http2") => 50051,
        Some("websocket") => 8080,
        Some("kafka") => 9092,
        Some("amqp") => 5672,
        // Not TCP: echo pairs between hosts.
        Some("icmp") => 0,
        Some(other) => {
            eprintln!("synth_capture: {other:?} is not a traffic kind (http, http-bodies, http2, websocket, icmp, redis, tls, postgres, mysql, kafka or amqp)");
            std::process::exit(2)
        }
    };
    let dead = Capture::dead(Linktype::ETHERNET).expect("libpcap dead handle");
    let out = dead.savefile(&out_path).unwrap_or_else(|e| {
        eprintln!("synth_capture: cannot write {out_path}: {e}");
        std::process::exit(1)
    });
    let mut w = Writer { out, ts_us: 0, packets: 0, bytes: 0 };
    let mut rng = Rng(0x5eed);
    let server = Ipv4Addr::new(10, 96, 0, 10);
    let resolver = Ipv4Addr::new(10, 96, 0, 53);
    let mut conns: Vec<Conn> = Vec::new();
    let mut next_conn = 0u32;
    let mut dns_id = 0u16;
    let mut icmp_seq = 0u16;
    while w.packets < target {
        if port == 0 {
            icmp_step(&mut w, &mut rng, &mut icmp_seq, server);
            continue;
        }
        while conns.len() < 64 {
            next_conn += 1;
            conns.push(Conn {
                client: Ipv4Addr::new(10, 244, (next_conn >> 8 & 0xff) as u8, (next_conn & 0xff) as u8),
                server,
                cport: 20_000 + (next_conn % 40_000) as u16,
                cseq: rng.next() as u32,
                sseq: rng.next() as u32,
                exchanges_left: 1 + rng.below(20) as u32,
                opened: false,
                port,
                shook: false,
                next_id: 1,
                bodies,
            });
        }
        let at = rng.below(conns.len() as u64) as usize;
        if !conns[at].step(&mut w, &mut rng) {
            conns.swap_remove(at);
        }
        if port == 80 && rng.below(6) == 0 {
            dns_id = dns_id.wrapping_add(1);
            let client = Ipv4Addr::new(10, 244, 1, (dns_id % 200) as u8 + 1);
            let port = 30_000 + dns_id % 20_000;
            let name = format!("svc-{}.shop.svc.cluster.local", rng.below(500));
            w.frame(client, resolver, &udp(port, 53, &dns_message(dns_id, &name, None)), 17);
            let answer = (rng.below(20) != 0).then(|| Ipv4Addr::new(10, 96, 1, (dns_id % 250) as u8));
            w.frame(resolver, client, &udp(53, port, &dns_message(dns_id, &name, Some(answer))), 17);
        }
    }
    w.out.flush().expect("flush");
    eprintln!("synth_capture: wrote {} packets, {} bytes of frames to {out_path}", w.packets, w.bytes);
}
