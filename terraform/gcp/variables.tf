variable "project_id" {
  type        = string
  description = "GCP project to deploy into."
}

variable "region" {
  type        = string
  description = "Region of the Cloud Run service, the subnet, Memorystore and the PostgreSQL hosts."
}

variable "zones" {
  type        = list(string)
  description = "Two zones of the region: PostgreSQL host 0 runs in the first, host 1 in the second."

  validation {
    condition     = length(var.zones) == 2
    error_message = "zones must list exactly two zones."
  }
}

variable "name" {
  type        = string
  description = "Name prefix for every resource of this deployment (lower case letters, digits and dashes)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 characters of lower case letters, digits and dashes, starting with a letter."
  }
}

variable "role" {
  type        = string
  description = "primary: this region writes (PostgreSQL primary plus a local streaming replica). standby: every PostgreSQL host here replicates from upstream_postgres_host and the bridge scales from zero only after a failover."
  default     = "primary"

  validation {
    condition     = contains(["primary", "standby"], var.role)
    error_message = "role must be \"primary\" or \"standby\"."
  }
}

variable "issuer_url" {
  type        = string
  description = "Public issuer URL (https://host, no trailing slash). Becomes the bridge's AGENTIDP_ISSUER and the database setting agentidp.issuer; a Google-managed certificate is issued for its host name."

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+$", var.issuer_url))
    error_message = "issuer_url must look like https://idp.example.com (no port, no path, no trailing slash)."
  }
}

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the deployment's subnet (PostgreSQL hosts and Cloud Run direct VPC egress). Regions of one deployment need non-overlapping ranges."
  default     = "10.60.0.0/20"
}

variable "peer_cidrs" {
  type        = list(string)
  description = "Subnet ranges of the deployment's other regions, allowed to stream WAL from (and to) these hosts."
  default     = []
}

variable "upstream_postgres_host" {
  type        = string
  description = "Standby role only: internal address of the primary region's PostgreSQL primary that host 0 streams from."
  default     = null
}

variable "bridge_image" {
  type        = string
  description = "Container image of agentidp-bridge (the repository's Dockerfile, target bridge) in Artifact Registry, with a tag or digest."
}

variable "bridge_cpu" {
  type        = string
  description = "CPU limit of one Cloud Run instance, e.g. \"2\"."
  default     = "2"
}

variable "bridge_memory" {
  type        = string
  description = "Memory limit of one Cloud Run instance, e.g. \"1Gi\"."
  default     = "1Gi"
}

variable "bridge_min_instances" {
  type        = number
  description = "Minimum Cloud Run instances in a primary region (kept warm: the revocation listener runs inside each instance)."
  default     = 2
}

variable "bridge_max_instances" {
  type        = number
  description = "Maximum Cloud Run instances; keep bridge_max_instances * bridge_db_pool_size under PostgreSQL's max_connections (100 by default)."
  default     = 5
}

variable "bridge_concurrency" {
  type        = number
  description = "Concurrent requests one instance accepts (should not exceed bridge_threads)."
  default     = 32
}

variable "bridge_threads" {
  type        = number
  description = "AGENTIDP_THREADS: HTTP worker threads per instance."
  default     = 32
}

variable "bridge_db_pool_size" {
  type        = number
  description = "AGENTIDP_DB_POOL_SIZE: PostgreSQL connections per instance."
  default     = 16
}

variable "bridge_rate_limit" {
  type        = number
  description = "AGENTIDP_RATE_LIMIT: the bridge's own per-client limit (requests per minute, 0 = off), shared by all instances through Redis. The bridge reads the client address from X-Forwarded-For when the peer is in bridge_trusted_proxies."
  default     = 100
}

variable "bridge_trusted_proxies" {
  type        = list(string)
  description = "IPs or CIDRs of the proxies in front of the bridge whose X-Forwarded-For is believed (AGENTIDP_TRUSTED_PROXIES; the load balancer's own address is added). Default: Google's front-end ranges. If the bridge's debug log shows every request from one address outside them, that address is the peer Cloud Run presents: add it."
  default     = ["35.191.0.0/16", "130.211.0.0/22"]
}

variable "edge_rate_limit_per_minute" {
  type        = number
  description = "Requests per minute per client IP allowed by a Cloud Armor throttle rule on the load balancer (answers 429 above it; DESIGN's default for the bridge is 100)."
  default     = 100

  validation {
    condition     = var.edge_rate_limit_per_minute >= 10
    error_message = "edge_rate_limit_per_minute must be at least 10."
  }
}

variable "bridge_log_level" {
  type        = string
  description = "AGENTIDP_LOG_LEVEL of the bridge."
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.bridge_log_level)
    error_message = "bridge_log_level must be debug, info, warn or error."
  }
}

variable "postgres_machine_type" {
  type        = string
  description = "Machine type of the PostgreSQL hosts (issuance is CPU-bound on RS256 signing)."
  default     = "c3-standard-4"
}

variable "postgres_disk_gb" {
  type        = number
  description = "Size of each PostgreSQL host's SSD persistent disk, GB."
  default     = 100
}

variable "agentidp_source_repo" {
  type        = string
  description = "Git URL the PostgreSQL hosts clone to build the extension (make && make install)."
}

variable "agentidp_source_ref" {
  type        = string
  description = "Git tag or branch of agentidp_source_repo to build; pin a release tag in production."
}

variable "redis_memory_gb" {
  type        = number
  description = "Memorystore capacity, GB."
  default     = 1
}

variable "secret_version" {
  type        = number
  description = "Increment to generate and store new database and replication passwords (rotation). The key-encryption key is never regenerated by Terraform: a new KEK would make every stored signing key unreadable."
  default     = 1
}

variable "shared_secret_ids" {
  type = object({
    kek                  = string
    db_password          = string
    replication_password = string
    database_url         = string
  })
  description = "Standby role only: Secret Manager secret ids created by the primary region's module (secrets are project-wide, replicated automatically)."
  default     = null
}

variable "internal_domain" {
  type        = string
  description = "Private Cloud DNS zone of the deployment; db.<internal_domain> names the writable PostgreSQL host and appears in the database URL secret."
  default     = "agentidp.internal"
}

variable "labels" {
  type        = map(string)
  description = "Labels added to every resource that takes them."
  default     = {}
}

variable "postgres_writer" {
  type        = number
  description = "Index (0 or 1) of the PostgreSQL host that db.<internal_domain> names and that the other host streams from. Change it after promoting the other host (terraform/README.md, in-region failover); a host replaced afterwards bootstraps as a replica of the writer."
  default     = 0

  validation {
    condition     = contains([0, 1], var.postgres_writer)
    error_message = "postgres_writer must be 0 or 1."
  }
}
