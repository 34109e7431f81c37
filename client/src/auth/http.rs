//! The blocking HTTP client every authorization exchange goes through: metadata and
//! registration documents, the headless authorization request and the token endpoint (as
//! oauth2's `SyncHttpClient`). Redirects are never followed, so the authorization response can
//! be read from its `Location`, and a metadata document cannot be swapped by a redirect. It
//! knows nothing of OAuth rules; DPoP proofs are added by `token.rs`, not here.

use oauth2::http;
use serde::de::DeserializeOwned;
use std::time::Duration;

use super::AuthError;

/// How long one exchange may take: the authorization server is a remote service and a hung one
/// must not hang the client forever.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A blocking reqwest client set up for OAuth exchanges.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::blocking::Client,
}

/// A body and the status it came with.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Http {
    pub(crate) fn new() -> Result<Self, AuthError> {
        // reqwest is built without a crypto provider so the workspace keeps one (ring); an
        // error here only means some other part of the process installed it first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .map_err(|source| AuthError::Http {
                url: String::new(),
                source,
            })?;
        Ok(Self { client })
    }

    /// GET a JSON document; `Ok(None)` when the server has none there (any non-2xx answer),
    /// so discovery can go on to the next candidate URL.
    pub(crate) fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>, AuthError> {
        let answer = self.get(url, "application/json")?;
        if !(200..300).contains(&answer.status) {
            tracing::debug!(url, status = answer.status, "no document");
            return Ok(None);
        }
        serde_json::from_slice(&answer.body)
            .map(Some)
            .map_err(|source| AuthError::Json {
                url: url.to_owned(),
                source,
            })
    }

    /// GET without following redirects.
    pub(crate) fn get(&self, url: &str, accept: &str) -> Result<Answer, AuthError> {
        Self::exchange(
            url,
            self.client.get(url).header(reqwest::header::ACCEPT, accept),
        )
    }

    /// POST a JSON body.
    pub(crate) fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Answer, AuthError> {
        let request = self
            .client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        Self::exchange(url, request)
    }

    /// Send `request` (to `url`) and read its answer.
    fn exchange(
        url: &str,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<Answer, AuthError> {
        let response = request.send().map_err(|source| AuthError::Http {
            url: url.to_owned(),
            source,
        })?;
        Self::answer(url, response)
    }

    /// Send a request oauth2 (or a token grant of ours) built.
    pub(crate) fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, AuthError> {
        let url = request.uri().to_string();
        let request =
            reqwest::blocking::Request::try_from(request).map_err(|source| AuthError::Http {
                url: url.clone(),
                source,
            })?;
        let response = self
            .client
            .execute(request)
            .map_err(|source| AuthError::Http {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .map_err(|source| AuthError::Http {
                url: url.clone(),
                source,
            })?
            .to_vec();
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }

    fn answer(url: &str, response: reqwest::blocking::Response) -> Result<Answer, AuthError> {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .map_err(|source| AuthError::Http {
                url: url.to_owned(),
                source,
            })?
            .to_vec();
        Ok(Answer {
            status,
            location,
            body,
        })
    }
}
