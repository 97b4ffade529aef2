//! JSON request bodies read as the reference reads them: whatever the
//! `Content-Type`, a body that is not the expected JSON object is 422
//! `{"error":"invalid json"}`; one over the size limit is 413. Only an
//! object is accepted: serde would otherwise take an array's items as the
//! fields in order.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// A JSON body of type `T`.
pub(crate) struct JsonBody<T>(pub(crate) T);

/// A JSON body of type `T`, or nothing when the body is empty.
pub(crate) struct OptionalJsonBody<T>(pub(crate) Option<T>);

type BodyFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// Reads the whole body within the `PayloadConfig` limit set on the app.
fn read(req: &HttpRequest, payload: &mut Payload) -> BodyFuture<Bytes> {
    let bytes = Bytes::from_request(req, payload);
    Box::pin(async move {
        bytes.await.map_err(|e| match e.as_error::<PayloadError>() {
            Some(PayloadError::Overflow) => ApiError::BodyTooLarge,
            _ => ApiError::InvalidJson,
        })
    })
}

fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidJson);
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::InvalidJson)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read(req, payload);
        Box::pin(async move { parse_object(&bytes.await?).map(JsonBody) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read(req, payload);
        Box::pin(async move {
            let bytes = bytes.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(None));
            }
            parse_object(&bytes).map(|v| OptionalJsonBody(Some(v)))
        })
    }
}
