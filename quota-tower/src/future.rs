//! The response future: decide, then call the inner service (or answer the refusal), then
//! refund if asked.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::brand::BoxFuture;
use crate::decide::{Admission, Gate};

pin_project! {
    /// Response future of [`crate::QuotaService`]. Like tower-http's futures, it panics if
    /// polled again after it completed.
    pub struct ResponseFuture<Svc, ReqBody>
    where
        Svc: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<Svc, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Svc, ReqBody>
    where
        Svc: Service<Request<ReqBody>>,
    {
        // Waiting for the quota decision; the request and the ready service wait with it.
        Deciding {
            gate: BoxFuture<Gate>,
            inner: Option<Svc>,
            req: Option<Request<ReqBody>>,
        },
        // A refusal decided synchronously.
        Refused {
            res: Option<Response<Bytes>>,
        },
        // The inner service runs.
        Calling {
            #[pin]
            fut: Svc::Future,
            admission: Option<Admission>,
        },
        // Giving units back after an inner failure; the answer waits.
        Refunding {
            release: BoxFuture<()>,
            response: Option<Svc::Response>,
        },
        // The answer was given: a further poll panics.
        Done,
    }
}

impl<Svc, ReqBody> ResponseFuture<Svc, ReqBody>
where
    Svc: Service<Request<ReqBody>>,
{
    pub(crate) fn deciding(gate: BoxFuture<Gate>, inner: Svc, req: Request<ReqBody>) -> Self {
        ResponseFuture {
            state: State::Deciding {
                gate,
                inner: Some(inner),
                req: Some(req),
            },
        }
    }

    pub(crate) fn refused(res: Response<Bytes>) -> Self {
        ResponseFuture {
            state: State::Refused { res: Some(res) },
        }
    }

    pub(crate) fn passthrough(fut: Svc::Future) -> Self {
        ResponseFuture {
            state: State::Calling {
                fut,
                admission: None,
            },
        }
    }
}

impl<Svc, ReqBody> fmt::Debug for ResponseFuture<Svc, ReqBody>
where
    Svc: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Deciding { .. } => "deciding",
            State::Refused { .. } => "refused",
            State::Calling { .. } => "calling",
            State::Refunding { .. } => "refunding",
            State::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

fn refusal<B: From<Bytes>>(res: Response<Bytes>) -> Response<B> {
    res.map(B::from)
}

impl<Svc, ReqBody, ResBody> Future for ResponseFuture<Svc, ReqBody>
where
    Svc: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, Svc::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut this = self.as_mut().project();
            match this.state.as_mut().project() {
                StateProj::Deciding { gate, inner, req } => {
                    let gate = ready!(gate.as_mut().poll(cx));
                    match gate {
                        Gate::Reject(res) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(refusal(res)));
                        }
                        Gate::Admit(mut admission) => {
                            let (Some(mut svc), Some(mut req)) = (inner.take(), req.take()) else {
                                unreachable!(
                                    "the service and the request leave `Deciding` once, with the state"
                                );
                            };
                            if let Some(decision) = admission.decision.take() {
                                req.extensions_mut().insert(*decision);
                            }
                            let fut = svc.call(req);
                            this.state.set(State::Calling {
                                fut,
                                admission: Some(admission),
                            });
                        }
                    }
                }
                StateProj::Refused { res } => {
                    let Some(res) = res.take() else {
                        unreachable!("the refusal leaves `Refused` once, with the state");
                    };
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(refusal(res)));
                }
                StateProj::Calling { fut, admission } => {
                    let mut res = match ready!(fut.poll(cx)) {
                        Ok(res) => res,
                        Err(e) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Err(e));
                        }
                    };
                    let Some(mut admission) = admission.take() else {
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(res));
                    };
                    admission.apply(&mut res);
                    match admission.refund.take() {
                        Some(refund) if refund.applies_to(res.status()) => {
                            let release = refund.start();
                            this.state.set(State::Refunding {
                                release,
                                response: Some(res),
                            });
                        }
                        _ => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(res));
                        }
                    }
                }
                StateProj::Refunding { release, response } => {
                    ready!(release.as_mut().poll(cx));
                    let Some(res) = response.take() else {
                        unreachable!("the answer leaves `Refunding` once, with the state");
                    };
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(res));
                }
                StateProj::Done => polled_after_completion(),
            }
        }
    }
}

/// A future that gave its output must not be polled again (the `Future` contract); doing so
/// is a bug in the caller, and answering `Pending` would hang it silently.
#[allow(clippy::panic)]
fn polled_after_completion() -> ! {
    panic!("`ResponseFuture` polled after completion")
}
