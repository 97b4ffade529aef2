//! JSON request bodies read as the reference reads them: whatever the
//! `Content-Type`, a body that is not the expected JSON is 422
//! `{"error":"invalid json"}`; one over the size limit is 413.

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

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The `Bytes` extractor enforces the `PayloadConfig` limit set on the app.
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => ApiError::BodyTooLarge,
                _ => ApiError::InvalidJson,
            })?;
            serde_json::from_slice(&bytes).map(JsonBody).map_err(|_| ApiError::InvalidJson)
        })
    }
}
