//! Ports: where each configured port is published on the host, the URL that reaches it in
//! the current environment (Gitpod, Codespaces, or a plain machine), `${portUrl:N}` in
//! config values, and waiting until a port answers.
//!
//! The URL is always built from the *host* port: that is the port Gitpod's and Codespaces'
//! proxies forward, and the one a browser on a laptop opens.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::workspace::{EnvMap, Port, Visibility};

/// Where devboot runs, which decides what a port's URL looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// `GITPOD_WORKSPACE_ID` and `GITPOD_WORKSPACE_CLUSTER_HOST` are set.
    Gitpod {
        workspace_id: String,
        cluster_host: String,
    },
    /// `CODESPACES=true` with `CODESPACE_NAME` and `GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN`.
    Codespaces {
        name: String,
        domain: String,
    },
    Local,
    /// A workspace on a remote engine reached over TCP: its ports are that host's.
    Remote {
        host: String,
    },
}

impl Environment {
    pub fn detect(host_env: &EnvMap) -> Self {
        let get = |k: &str| host_env.get(k).filter(|v| !v.is_empty()).cloned();
        if let (Some(workspace_id), Some(cluster_host)) = (
            get("GITPOD_WORKSPACE_ID"),
            get("GITPOD_WORKSPACE_CLUSTER_HOST"),
        ) {
            return Environment::Gitpod {
                workspace_id,
                cluster_host,
            };
        }
        if get("CODESPACES").as_deref() == Some("true")
            && let (Some(name), Some(domain)) = (
                get("CODESPACE_NAME"),
                get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN"),
            )
        {
            return Environment::Codespaces { name, domain };
        }
        Environment::Local
    }

    /// The URL of a host port here.
    pub fn url(&self, host_port: u16) -> String {
        let (prefix, suffix) = self.url_parts();
        format!("{prefix}{host_port}{suffix}")
    }

    /// What goes before and after the host port in its URL (`gp` makes URLs from them).
    pub fn url_parts(&self) -> (String, String) {
        match self {
            Environment::Gitpod {
                workspace_id,
                cluster_host,
            } => ("https://".into(), format!("-{workspace_id}.{cluster_host}")),
            Environment::Codespaces { name, domain } => {
                (format!("https://{name}-"), format!(".{domain}"))
            }
            Environment::Local => ("http://localhost:".into(), String::new()),
            Environment::Remote { host } => (format!("http://{}:", url_host(host)), String::new()),
        }
    }

    /// The workspace's own URL, without a port (`gp url`).
    pub fn workspace_url(&self) -> String {
        match self {
            Environment::Gitpod {
                workspace_id,
                cluster_host,
            } => format!("https://{workspace_id}.{cluster_host}"),
            Environment::Codespaces { name, .. } => format!("https://{name}.github.dev"),
            Environment::Local => "http://localhost".into(),
            Environment::Remote { host } => format!("http://{}", url_host(host)),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Environment::Gitpod { .. } => "gitpod",
            Environment::Codespaces { .. } => "codespaces",
            Environment::Local => "local",
            Environment::Remote { .. } => "remote",
        }
    }

    /// The host published ports are probed at, when it is not this machine.
    fn probe_host(&self) -> Option<&str> {
        match self {
            Environment::Remote { host } => Some(host),
            _ => None,
        }
    }
}

/// A host name as a URL holds it (an IPv6 address in brackets).
fn url_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A configured port as published on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub port: Port,
    /// Host address: from the config when it says, else from the visibility.
    pub host_ip: String,
    /// First host port (the range keeps its length).
    pub host_port: u16,
}

impl Binding {
    /// The `docker run -p` value (an IPv6 address in brackets, as docker wants it).
    pub fn publish_arg(&self) -> String {
        let port = &self.port;
        let ip = if self.host_ip.contains(':') {
            format!("[{}]", self.host_ip)
        } else {
            self.host_ip.clone()
        };
        if port.is_range() {
            format!(
                "{ip}:{}-{}:{}-{}",
                self.host_port,
                self.last_host_port(),
                port.port,
                port.end
            )
        } else {
            format!("{ip}:{}:{}", self.host_port, port.port)
        }
    }

    /// The last host port of the binding (the first one for a single port).
    pub fn last_host_port(&self) -> u16 {
        self.host_port + (self.port.end - self.port.port)
    }

    /// Host port of a container port inside this binding.
    pub fn host_port_of(&self, container_port: u16) -> Option<u16> {
        (self.port.port..=self.port.end)
            .contains(&container_port)
            .then(|| self.host_port + (container_port - self.port.port))
    }

    /// The address to probe for readiness in `environment`: the remote host's for a
    /// workspace there, else loopback unless the binding names an address.
    pub fn probe_addr_in(&self, environment: &Environment) -> SocketAddr {
        match environment.probe_host() {
            Some(host) => (host, self.host_port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .unwrap_or_else(|| self.probe_addr()),
            None => self.probe_addr(),
        }
    }

    /// The address to probe for readiness: loopback unless the binding names an address.
    pub fn probe_addr(&self) -> SocketAddr {
        let ip = match self.host_ip.as_str() {
            "0.0.0.0" | "" | "127.0.0.1" => "127.0.0.1",
            "::" => "::1",
            other => other,
        };
        (ip, self.host_port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], self.host_port)))
    }
}

/// How every published port of `ports` is bound on the host, `offset` added to host ports.
pub fn bindings(ports: &[Port], offset: u16) -> Vec<Binding> {
    ports
        .iter()
        .filter(|p| p.publish)
        .map(|port| Binding {
            host_ip: port.host_ip.clone().unwrap_or_else(|| {
                match port.visibility {
                    Visibility::Public => "0.0.0.0",
                    Visibility::Private => "127.0.0.1",
                }
                .to_string()
            }),
            host_port: port.host_port.unwrap_or(port.port).saturating_add(offset),
            port: port.clone(),
        })
        .collect()
}

/// The URL of container port `port` in `environment`, through its binding; a port that is
/// not configured keeps its number (plus the offset).
pub fn url_of(bindings: &[Binding], environment: &Environment, port: u16, offset: u16) -> String {
    let host_port = bindings
        .iter()
        .find_map(|b| b.host_port_of(port))
        .unwrap_or_else(|| port.saturating_add(offset));
    environment.url(host_port)
}

/// Replaces every `${portUrl:N}` in `value` with that port's URL. Anything else is left.
pub fn expand_port_urls(value: &str, url: impl Fn(u16) -> String) -> String {
    const START: &str = "${portUrl:";
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find(START) {
        out.push_str(&rest[..i]);
        let after = &rest[i + START.len()..];
        if let Some((port, end)) = after
            .find('}')
            .and_then(|end| Some((after[..end].trim().parse::<u16>().ok()?, end)))
        {
            out.push_str(&url(port));
            rest = &after[end + 1..];
        } else {
            out.push_str(START);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// True when an HTTP request to `addr` gets any HTTP response (a 404 counts: something
/// serves HTTP there). With `tls` (a port whose protocol is https) devboot cannot complete
/// a handshake, so any answer to the request counts: a TLS server replies to plain text
/// with an alert record or an HTTP 400, and only a server that reads it answers at all.
pub fn http_responds(addr: SocketAddr, timeout: Duration, tls: bool) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let request = format!(
        "GET / HTTP/1.0\r\nHost: localhost:{}\r\nUser-Agent: devboot\r\n\r\n",
        addr.port()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    if tls {
        return stream.read(&mut head).is_ok_and(|n| n > 0);
    }
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// Waits until `addr` answers HTTP (see [`http_responds`]), or `deadline` passes; `tick`
/// runs between attempts.
/// `tick` runs between attempts; when it says `false`, waiting stops (unanswered).
pub fn wait_http(
    addr: SocketAddr,
    deadline: Instant,
    tls: bool,
    tick: &mut dyn FnMut() -> bool,
) -> bool {
    loop {
        if !tick() {
            return false;
        }
        // Short attempts: one that lands while the container's network comes up can hang
        // until TCP retransmits; a new attempt gets through sooner.
        if http_responds(addr, Duration::from_millis(500), tls) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Pause between readiness attempts: a server that starts in 80 ms should not wait 250,
/// and one attempt costs a connect on loopback.
const POLL: Duration = Duration::from_millis(5);

/// How long a connection must stay open, silent, to count as served. docker's proxy closes
/// a connection to a port nothing serves within milliseconds; the margin is for a busy host.
const SILENT_SERVER: Duration = Duration::from_millis(250);

/// True when a server listens behind `addr`. Connecting is not enough: docker's userland
/// proxy accepts on the host port while nothing listens in the container, then closes the
/// connection at once. So a connection that is closed right away does not count; one that
/// stays open (the server waits for us) or sends data (the server speaks first) does.
pub fn tcp_served(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(SILENT_SERVER));
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// Waits until a server listens behind `addr` (see [`tcp_served`]), or `deadline` passes;
/// `tick` runs between attempts, and stops the wait when it says `false`.
pub fn wait_tcp(addr: SocketAddr, deadline: Instant, tick: &mut dyn FnMut() -> bool) -> bool {
    loop {
        if !tick() {
            return false;
        }
        if tcp_served(addr) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

/// Where something listens on `port` inside a container, from the text of its
/// `/proc/net/tcp` and `/proc/net/tcp6` (the kernel's socket tables, as `gp ports await` reads
/// them): the local addresses of the sockets in state LISTEN, e.g. `127.0.0.1` or `0.0.0.0`.
pub fn listening_addresses(proc_net_tcp: &str, port: u16) -> Vec<std::net::IpAddr> {
    const LISTEN: &str = "0A";
    let mut out = Vec::new();
    for line in proc_net_tcp.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
            continue;
        };
        let Some((ip, p)) = local.split_once(':') else {
            continue;
        };
        if *state != LISTEN || u16::from_str_radix(p, 16) != Ok(port) {
            continue;
        }
        if let Some(ip) = kernel_ip(ip)
            && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

/// An address as the kernel prints it in `/proc/net/tcp{,6}`: each 32-bit word in hex, in
/// the machine's byte order.
fn kernel_ip(hex: &str) -> Option<std::net::IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let text = hex.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(text, 16).ok()?.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(std::net::Ipv4Addr::from(word(0)?).into()),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(std::net::Ipv6Addr::from(bytes).into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::OnOpen;

    fn port(n: u16, end: u16, visibility: Visibility) -> Port {
        Port {
            port: n,
            end,
            host_port: None,
            host_ip: None,
            label: None,
            description: None,
            visibility,
            on_open: OnOpen::Notify,
            protocol: None,
            publish: true,
            awaited: true,
        }
    }

    #[test]
    fn urls_per_environment() {
        let env = |pairs: &[(&str, &str)]| -> EnvMap {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        let gitpod = Environment::detect(&env(&[
            ("GITPOD_WORKSPACE_ID", "me-cruddur-abc"),
            ("GITPOD_WORKSPACE_CLUSTER_HOST", "ws-eu11.gitpod.io"),
        ]));
        assert_eq!(
            gitpod.url(4567),
            "https://4567-me-cruddur-abc.ws-eu11.gitpod.io"
        );
        let codespaces = Environment::detect(&env(&[
            ("CODESPACES", "true"),
            ("CODESPACE_NAME", "octo-space"),
            ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
        ]));
        assert_eq!(
            codespaces.url(3000),
            "https://octo-space-3000.app.github.dev"
        );
        assert_eq!(
            Environment::detect(&EnvMap::new()).url(3000),
            "http://localhost:3000"
        );
    }

    #[test]
    fn bindings_follow_visibility_offset_and_ranges() {
        let b = bindings(
            &[
                port(4567, 4567, Visibility::Public),
                port(3000, 3010, Visibility::Private),
            ],
            10,
        );
        assert_eq!(b[0].publish_arg(), "0.0.0.0:4577:4567");
        assert_eq!(b[1].publish_arg(), "127.0.0.1:3010-3020:3000-3010");
        assert_eq!(b[1].host_port_of(3005), Some(3015));
        assert_eq!(
            url_of(&b, &Environment::Local, 4567, 10),
            "http://localhost:4577"
        );
    }

    /// A server that accepts, reads the request and answers `reply` (then closes).
    fn one_shot_server(reply: &'static [u8]) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut request = [0u8; 64];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(reply);
            }
        });
        addr
    }

    #[test]
    fn http_and_tls_answers() {
        let second = Duration::from_secs(5);
        assert!(http_responds(
            one_shot_server(b"HTTP/1.0 404 Not Found\r\n\r\n"),
            second,
            false
        ));
        // A TLS alert record (fatal, decode_error) is no HTTP, but it is an https answer.
        let alert: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];
        assert!(!http_responds(one_shot_server(alert), second, false));
        assert!(http_responds(one_shot_server(alert), second, true));
        assert!(!http_responds(one_shot_server(b""), second, true));
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let mut p = port(4567, 4567, Visibility::Private);
        p.host_ip = Some("::1".into());
        assert_eq!(bindings(&[p], 0)[0].publish_arg(), "[::1]:4567:4567");
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn listening_addresses_from_proc_net_tcp() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:11D7 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:11D7 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1
   0: 00000000000000000000000001000000:11D7 00000000000000000000000000000000:0000 0A 0 0 0 0 0 4 1
";
        let at = |port| listening_addresses(text, port);
        assert_eq!(
            at(4567),
            vec![
                "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(
            at(5000),
            vec!["0.0.0.0".parse::<std::net::IpAddr>().unwrap()]
        );
        assert!(
            at(40000).is_empty(),
            "an established connection is no listener"
        );
    }

    #[test]
    fn port_url_expansion() {
        let url = |p: u16| format!("http://localhost:{p}");
        assert_eq!(
            expand_port_urls("a ${portUrl:3000} b ${portUrl:x} ${other}", url),
            "a http://localhost:3000 b ${portUrl:x} ${other}"
        );
    }
}
