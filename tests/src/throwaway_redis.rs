//! A private Redis for tests that flush, stop, restart or cut off Redis: one `redis-server` on
//! a free loopback port or, when the suite runs against a cluster (`REDIS_URL` is
//! `redis+cluster://...`), a private three-master cluster. It is killed when dropped; the
//! shared Redis is never touched.
//!
//! The cluster is joined with `CLUSTER ADDSLOTSRANGE` and `CLUSTER MEET` rather than
//! `redis-cli --cluster create`, whose waits cost seconds per test. Its nodes announce no
//! endpoint (`cluster-preferred-endpoint-type unknown-endpoint`), so a client keeps using the
//! host it reached them by: [`ThrowawayRedis::behind_proxy`] puts a fault proxy in front of
//! every node on another loopback address (127.0.0.2, same ports), and one replica can then be
//! cut off from the whole cluster while another keeps its direct route.

use crate::fault_proxy::{FaultProxy, Mode};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Cluster nodes are started with this many masters.
const MASTERS: usize = 3;
/// The loopback address the proxies of [`ThrowawayRedis::behind_proxy`] listen on.
const PROXY_HOST: [u8; 4] = [127, 0, 0, 2];

pub struct ThrowawayRedis {
    nodes: Vec<Node>,
    /// Node files of a cluster (its topology survives a restart; the data does not).
    cluster: Option<TempDir>,
}

struct Node {
    port: u16,
    bus_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl ThrowawayRedis {
    /// Of the same kind as the suite's Redis.
    pub fn start() -> Self {
        if crate::tier::redis_is_cluster() {
            Self::start_cluster()
        } else {
            Self::start_server()
        }
    }

    pub fn start_server() -> Self {
        let mut redis = Self {
            nodes: vec![Node {
                port: free_port(),
                bus_port: 0,
                child: None,
            }],
            cluster: None,
        };
        redis.launch();
        redis
    }

    pub fn start_cluster() -> Self {
        let nodes = (0..MASTERS)
            .map(|_| Node {
                port: free_port(),
                bus_port: free_port(),
                child: None,
            })
            .collect();
        let mut redis = Self {
            nodes,
            cluster: Some(TempDir::new().expect("cluster directory")),
        };
        redis.launch();
        redis.join();
        redis
    }

    pub fn url(&self) -> String {
        self.url_on("127.0.0.1")
    }

    fn url_on(&self, host: &str) -> String {
        let nodes: Vec<_> = self
            .nodes
            .iter()
            .map(|node| format!("{host}:{}", node.port))
            .collect();
        match self.cluster {
            Some(_) => format!("redis+cluster://{}", nodes.join(",")),
            None => format!("redis://{}", nodes[0]),
        }
    }

    /// Stops every server (their data is gone: nothing is kept on disk).
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Starts it again on the same ports, empty (a cluster keeps its topology).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
        if self.cluster.is_some() {
            self.wait_until_ok();
        }
    }

    /// FLUSHALL on every node.
    pub fn flushall(&self) {
        for port in self.ports() {
            let () = redis::cmd("FLUSHALL")
                .query(&mut connect(port))
                .expect("FLUSHALL on the private redis");
        }
    }

    /// Disconnects every subscribed client (shard channels included); returns how many.
    pub fn kill_listeners(&self) -> usize {
        let mut killed = 0;
        for port in self.ports() {
            let mut connection = connect(port);
            let clients: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query(&mut connection)
                .expect("CLIENT LIST");
            for id in subscribed_clients(&clients) {
                let _: redis::RedisResult<()> = redis::cmd("CLIENT")
                    .arg("KILL")
                    .arg("ID")
                    .arg(id)
                    .query(&mut connection);
                killed += 1;
            }
        }
        killed
    }

    /// Whether any node holds a key under `prefix`.
    pub fn has_keys(&self, prefix: &str) -> bool {
        self.ports().any(|port| {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query(&mut connect(port))
                .unwrap_or_default();
            !keys.is_empty()
        })
    }

    /// A route to this Redis through fault proxies: one in front of the server, or one in front
    /// of each cluster node (see the module's notes).
    pub async fn behind_proxy(&self) -> ProxiedRedis {
        let (proxies, url) = match self.cluster {
            None => {
                let proxy = FaultProxy::start(self.node_addr(&self.nodes[0])).await;
                let url = format!("redis://{}", proxy.addr());
                (vec![proxy], url)
            }
            Some(_) => {
                let mut proxies = Vec::new();
                for node in &self.nodes {
                    let listen = SocketAddr::from((PROXY_HOST, node.port));
                    proxies.push(FaultProxy::start_at(listen, self.node_addr(node)).await);
                }
                (proxies, self.url_on("127.0.0.2"))
            }
        };
        ProxiedRedis { proxies, url }
    }

    fn node_addr(&self, node: &Node) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], node.port))
    }

    fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes.iter().map(|node| node.port)
    }

    fn launch(&mut self) {
        let dir = self.cluster.as_ref().map(|dir| dir.path().to_path_buf());
        for node in &mut self.nodes {
            let port = node.port.to_string();
            let mut args = vec![
                "--port".to_owned(),
                port.clone(),
                "--bind".to_owned(),
                "127.0.0.1".to_owned(),
                "--save".to_owned(),
                String::new(),
                "--appendonly".to_owned(),
                "no".to_owned(),
            ];
            if let Some(dir) = &dir {
                let config = dir.join(format!("nodes-{port}.conf"));
                args.extend([
                    "--cluster-enabled".to_owned(),
                    "yes".to_owned(),
                    "--cluster-port".to_owned(),
                    node.bus_port.to_string(),
                    "--cluster-config-file".to_owned(),
                    config.display().to_string(),
                    "--cluster-preferred-endpoint-type".to_owned(),
                    "unknown-endpoint".to_owned(),
                    "--dir".to_owned(),
                    dir.display().to_string(),
                ]);
            }
            let child = Command::new("redis-server")
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed for fault tests (apt-get install redis-server; `just test` does it)");
            node.child = Some(child);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in self.ports() {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "throwaway redis-server did not start on port {port}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Gives each master an equal share of the slots and introduces them to each other.
    fn join(&self) {
        let slots_each = 16384 / self.nodes.len();
        for (index, node) in self.nodes.iter().enumerate() {
            let first = index * slots_each;
            let last = if index + 1 == self.nodes.len() {
                16383
            } else {
                first + slots_each - 1
            };
            let mut connection = connect(node.port);
            let () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query(&mut connection)
                .expect("CLUSTER ADDSLOTSRANGE");
            if index > 0 {
                let () = redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg("127.0.0.1")
                    .arg(self.nodes[0].port)
                    .arg(self.nodes[0].bus_port)
                    .query(&mut connection)
                    .expect("CLUSTER MEET");
            }
        }
        self.wait_until_ok();
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let expected = format!("cluster_known_nodes:{}", self.nodes.len());
        for port in self.ports() {
            loop {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut connect(port))
                    .unwrap_or_default();
                if info.contains("cluster_state:ok") && info.contains(&expected) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "throwaway cluster node {port} never reached cluster_state:ok: {info}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(5))
        .expect("connection to the private redis")
}

/// The ids in a `CLIENT LIST` of the clients subscribed to any channel, pattern or shard
/// channel.
fn subscribed_clients(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|line| {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            };
            let subscribed = ["sub", "psub", "ssub"]
                .iter()
                .any(|name| field(name).is_some_and(|count| count != "0"));
            subscribed.then(|| field("id").map(str::to_owned)).flatten()
        })
        .collect()
}

/// A route to a [`ThrowawayRedis`] through proxies that can be told to misbehave together.
pub struct ProxiedRedis {
    proxies: Vec<FaultProxy>,
    url: String,
}

impl ProxiedRedis {
    /// The URL a gateway reaches Redis by through the proxies.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn set(&self, mode: Mode) {
        for proxy in &self.proxies {
            proxy.set(mode);
        }
    }
}
