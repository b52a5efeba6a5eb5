//! Serving every front end and the admin API on one listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::aws::AwsService;
use crate::azure::AzureService;
use crate::tencent::TencentService;
use crate::{Context, EmulatorConfig};

/// The emulator: every simulated service and their shared context. Clones share state.
#[derive(Debug, Clone)]
pub struct Emulator {
    ctx: Arc<Context>,
    azure: Arc<AzureService>,
    tencent: Arc<TencentService>,
    aws: Arc<AwsService>,
}

impl Emulator {
    /// An emulator running in real time.
    pub fn new(config: EmulatorConfig) -> Self {
        Emulator::with_context(Context::real_time(config))
    }

    /// An emulator with the given context (tests pass a manual simulation clock).
    pub fn with_context(ctx: Context) -> Self {
        let ctx = Arc::new(ctx);
        Emulator {
            azure: Arc::new(AzureService::new(ctx.clone())),
            tencent: Arc::new(TencentService::new(ctx.clone())),
            aws: Arc::new(AwsService::new(ctx.clone())),
            ctx,
        }
    }

    /// The shared context (clocks, faults, stats, configuration).
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// The simulated Azure Batch service.
    pub fn azure(&self) -> &Arc<AzureService> {
        &self.azure
    }

    /// The simulated Tencent Cloud Batch service.
    pub fn tencent(&self) -> &Arc<TencentService> {
        &self.tencent
    }

    /// The simulated AWS Batch service.
    pub fn aws(&self) -> &Arc<AwsService> {
        &self.aws
    }

    /// The HTTP router: Azure REST paths, Tencent's `POST /`, AWS's `/v1/...`, and the admin
    /// API.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(AzureService::router(&self.azure))
            .merge(TencentService::router(&self.tencent))
            .merge(AwsService::router(&self.aws))
            .merge(crate::admin::router(crate::admin::Admin {
                ctx: self.ctx.clone(),
                azure: self.azure.clone(),
                tencent: self.tencent.clone(),
                aws: self.aws.clone(),
            }))
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// An emulator with `config` whose simulation clock moves only when told
    /// (`sim_clock.advance`, or the admin API), with the system clock checking request
    /// timestamps, serving on an ephemeral loopback port: what tests and benchmarks start.
    pub async fn spawn_manual(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
        let ctx = Context::new(
            config,
            crate::SimClock::manual(),
            Arc::new(polybatch::clock::SystemClock),
        );
        Emulator::with_context(ctx).spawn_local().await
    }

    /// Serves on an ephemeral loopback port in a background task.
    pub async fn spawn_local(self) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        self.spawn_on(listener)
    }

    /// Serves on `listener` in a background task.
    pub fn spawn_on(self, listener: TcpListener) -> std::io::Result<RunningEmulator> {
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let emulator = self.clone();
        let handle = tokio::spawn(async move {
            let _ = emulator
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningEmulator {
            addr,
            emulator: self,
            stop: Some(tx),
            handle: Some(handle),
        })
    }
}

/// An emulator serving in the background. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The emulator (state, clock, faults, stats).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
