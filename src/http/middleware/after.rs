//! How a layer finishes a request without making every request's future bigger.
//!
//! A layer written as `async fn call(&self, req)` keeps room for its `Request` argument
//! for the whole life of its future, beside the inner endpoint's future that it awaits:
//! rustc does not overlap an `async fn`'s arguments with what it holds across an
//! `.await`. Stacked eight deep, that made every request's future 12.9 KB, moved into
//! hyper's slot for each request (5–6 % of the server's CPU on the hot path, in `perf`).
//! An `async move` block that captures the inner future is worse: it holds it twice.
//!
//! So each layer does its work before the request in plain code, and what it does after
//! the answer in a closure run by [`After`], a future that is the inner future plus
//! that closure. The plain code runs when the request's future is made, which
//! `RequestIds` does inside the request id's scope, so a refusal made there names the
//! id as any answer does. A layer that must wait for something before the request (reading a
//! chunked body, checking an admin signature) does so on a boxed future, on those rare
//! requests only.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::TryFutureExt;
use futures_util::future::{Either, Ready, ready};
use poem::{IntoResponse, Response};

pin_project_lite::pin_project! {
    /// The inner endpoint's future, then `finish` on its answer.
    pub struct After<F, P> {
        #[pin]
        inner: F,
        finish: Option<P>,
    }
}

/// Runs `finish` on what `inner` answers (its response, or the error it raised).
pub fn after<F, R, P>(inner: F, finish: P) -> After<F, P>
where
    F: Future<Output = poem::Result<R>>,
    R: IntoResponse,
    P: FnOnce(poem::Result<Response>) -> poem::Result<Response>,
{
    After {
        inner,
        finish: Some(finish),
    }
}

impl<F, R, P> Future for After<F, P>
where
    F: Future<Output = poem::Result<R>>,
    R: IntoResponse,
    P: FnOnce(poem::Result<Response>) -> poem::Result<Response>,
{
    type Output = poem::Result<Response>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx)).map(IntoResponse::into_response);
        let finish = this
            .finish
            .take()
            .expect("`After` polled after it finished");
        Poll::Ready(finish(answer))
    }
}

/// The inner endpoint's answer as a `Response`, its error passed up as it is.
pub fn answered<F, R>(inner: F) -> impl Future<Output = poem::Result<Response>>
where
    F: Future<Output = poem::Result<R>>,
    R: IntoResponse,
{
    inner.map_ok(IntoResponse::into_response)
}

/// A layer's future: the request passed on (`F`), or an answer the layer gave itself.
pub type Passed<F> = Either<F, Ready<poem::Result<Response>>>;

/// Passes the request on to the inner endpoint's future.
pub fn pass<F>(inner: F) -> Passed<F> {
    Either::Left(inner)
}

/// Answers without asking the inner endpoint (a refusal).
pub fn refuse<F>(answer: impl IntoResponse) -> Passed<F> {
    Either::Right(given(answer))
}

/// An answer already made, as a future: the smallest a layer can hand up.
pub fn given(answer: impl IntoResponse) -> Ready<poem::Result<Response>> {
    ready(Ok(answer.into_response()))
}

/// A future boxed for the rare requests a layer must wait on before passing them on.
pub type Boxed<'a> = Pin<Box<dyn Future<Output = poem::Result<Response>> + Send + 'a>>;

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn the_closure_sees_the_inner_answer_or_its_error_and_gives_the_answer() {
        let ok = after(async { Ok::<_, poem::Error>("fine") }, |answer| {
            let mut resp = answer?;
            resp.headers_mut().insert("x-seen", "yes".parse().unwrap());
            Ok(resp)
        });
        let resp = ok.await.unwrap();
        assert_eq!(resp.headers()["x-seen"], "yes");
        assert_eq!(resp.into_body().into_string().await.unwrap(), "fine");

        let failed = after(
            async { Err::<Response, _>(poem::Error::from_status(StatusCode::IM_A_TEAPOT)) },
            |answer| {
                let err = answer.unwrap_err();
                Ok(Response::builder().status(err.status()).finish())
            },
        );
        assert_eq!(failed.await.unwrap().status(), StatusCode::IM_A_TEAPOT);
    }

    #[tokio::test]
    async fn a_layer_future_is_its_inner_future_and_a_little_more() {
        // The point of `After`: no second copy of the request or of the inner future.
        let inner = async {
            let big = [0u8; 4096];
            std::future::ready(()).await;
            Ok::<_, poem::Error>(big.len().to_string())
        };
        let inner_size = std::mem::size_of_val(&inner);
        let layered = after(inner, |answer| answer);
        assert!(std::mem::size_of_val(&layered) < inner_size + 64);
        let passed: Passed<_> = pass(layered);
        assert!(std::mem::size_of_val(&passed) < inner_size + 128);
        assert_eq!(
            passed
                .await
                .unwrap()
                .into_body()
                .into_string()
                .await
                .unwrap(),
            "4096"
        );
    }
}
