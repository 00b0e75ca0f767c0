//! A TCP proxy between the app and a real Redis that injects faults: added latency, stalls
//! (bytes held, connections kept open), replies withheld (commands reach Redis, answers do
//! not come back), connections closed or reset, new connections refused or black-holed.
//! Faults apply to connections already open and to new ones, and change while traffic flows.
//! The app connects over loopback TCP; the proxy reaches Redis on its unix socket, so that a
//! server killed and started again on the same data dir is behind the same proxy address.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::{broadcast, mpsc, watch};

/// What the proxy does to the traffic, from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass unchanged.
    None,
    /// Every chunk is held this long in each direction (order kept).
    Delay(Duration),
    /// Nothing passes in either direction; connections stay open and bytes wait.
    Stall,
    /// Commands reach Redis, its answers are held: Redis runs what it was sent and the app
    /// hears nothing.
    HoldReplies,
    /// New connections are accepted and never served (a black hole: no answer, no reset);
    /// open connections are unaffected.
    BlackholeNew,
    /// New connections are reset at once (as a port nobody listens on); open ones unaffected.
    RefuseNew,
}

/// What to do to the connections open now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// A normal close (FIN): bytes in flight are dropped.
    Close,
    /// A reset (RST, `SO_LINGER` 0).
    Reset,
    /// A silent partition: nothing passes on them any more, ever, and they are never closed
    /// (a peer gone without a word, a NAT that forgot them). New connections pass.
    Freeze,
}

pub struct FaultProxy {
    addr: SocketAddr,
    fault: watch::Sender<Fault>,
    cut: broadcast::Sender<Cut>,
    accepted: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a loopback port forwarding to the unix socket `upstream`.
    pub async fn start(upstream: &Path) -> Self {
        let upstream = upstream.to_path_buf();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (fault, faults) = watch::channel(Fault::None);
        let (cut, _) = broadcast::channel(16);
        let accepted = Arc::new(Mutex::new(0));
        let task = tokio::spawn({
            let cut = cut.clone();
            let accepted = accepted.clone();
            async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    *accepted.lock().unwrap() += 1;
                    let _ = client.set_nodelay(true);
                    let current = *faults.borrow();
                    match current {
                        Fault::RefuseNew => {
                            end(client, Cut::Reset);
                            continue;
                        }
                        Fault::BlackholeNew => {
                            // Held open, never read, until cut or the proxy ends.
                            let mut cuts = cut.subscribe();
                            tokio::spawn(async move {
                                let how = next_end(&mut cuts).await;
                                end(client, how);
                            });
                            continue;
                        }
                        _ => {}
                    }
                    let faults = faults.clone();
                    let cuts = cut.subscribe();
                    tokio::spawn(serve(client, upstream.clone(), faults, cuts));
                }
            }
        });
        FaultProxy {
            addr,
            fault,
            cut,
            accepted,
            task,
        }
    }

    /// `redis://127.0.0.1:<port>/`: the app connects here.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// Ends (or freezes) every connection open now; new ones are not affected.
    pub fn cut(&self, how: Cut) {
        let _ = self.cut.send(how);
    }

    /// [`FaultProxy::cut`], for a task that cuts while the test goes on.
    pub fn cutter(&self) -> impl Fn(Cut) + Send + 'static {
        let cut = self.cut.clone();
        move |how| {
            let _ = cut.send(how);
        }
    }

    /// [`FaultProxy::set`], for a task that changes the fault while the test goes on.
    pub fn setter(&self) -> impl Fn(Fault) + Send + 'static {
        let fault = self.fault.clone();
        move |to| {
            fault.send_replace(to);
        }
    }

    /// Connections accepted so far (reconnections show here).
    pub fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = self.cut.send(Cut::Reset);
    }
}

/// The next cut that ends a connection (a frozen one waits for a close or a reset).
async fn next_end(cuts: &mut broadcast::Receiver<Cut>) -> Cut {
    loop {
        match cuts.recv().await {
            Ok(Cut::Freeze) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Ok(how) => return how,
            Err(broadcast::error::RecvError::Closed) => return Cut::Close,
        }
    }
}

/// Closes or resets the app's side of a connection (Redis's side is simply dropped).
// `set_linger` is deprecated because a non-zero linger blocks the thread on drop; a zero
// linger never blocks: the close sends a reset at once, which is the point.
#[allow(deprecated)]
fn end(client: TcpStream, how: Cut) {
    if how == Cut::Reset {
        let _ = client.set_linger(Some(Duration::ZERO));
    }
    drop(client);
}

#[derive(Clone, Copy)]
enum Direction {
    ToRedis,
    ToApp,
}

async fn serve(
    mut client: TcpStream,
    upstream: PathBuf,
    faults: watch::Receiver<Fault>,
    mut cuts: broadcast::Receiver<Cut>,
) {
    let Ok(server) = UnixStream::connect(&upstream).await else {
        end(client, Cut::Reset);
        return;
    };
    let (server_read, server_write) = tokio::io::split(server);
    let mut how = {
        let (client_read, client_write) = client.split();
        let up = pump(
            client_read,
            server_write,
            Direction::ToRedis,
            faults.clone(),
        );
        let down = pump(server_read, client_write, Direction::ToApp, faults);
        // Either direction ending (a side closed) ends the connection, as a real one would.
        tokio::select! {
            _ = up => Cut::Close,
            _ = down => Cut::Close,
            how = cuts.recv() => how.unwrap_or(Cut::Close),
        }
    };
    if how == Cut::Freeze {
        // The pumps are gone: nothing is read or written any more; the socket stays open.
        how = next_end(&mut cuts).await;
    }
    end(client, how);
}
/// Copies `from` to `to`, each chunk held as the fault says: a reader queues chunks with
/// their arrival time, a writer sends each once its delay has passed and no stall holds it.
/// Returns when either side closes.
async fn pump<R, W>(mut from: R, mut to: W, direction: Direction, faults: watch::Receiver<Fault>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (queue, mut queued) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if queue.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    };
    let write = async move {
        let mut faults = faults;
        while let Some((arrived, chunk)) = queued.recv().await {
            loop {
                let fault = *faults.borrow_and_update();
                let held = match (fault, direction) {
                    (Fault::Stall, _) | (Fault::HoldReplies, Direction::ToApp) => true,
                    (Fault::Delay(d), _) if arrived + d > Instant::now() => {
                        tokio::select! {
                            _ = tokio::time::sleep_until((arrived + d).into()) => {}
                            _ = faults.changed() => {}
                        }
                        continue;
                    }
                    _ => false,
                };
                if !held {
                    break;
                }
                if faults.changed().await.is_err() {
                    return;
                }
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    // Either half ending ends the direction: a closed reader drains nothing more, a broken
    // writer cannot deliver.
    tokio::select! {
        _ = read => {}
        _ = write => {}
    }
}
