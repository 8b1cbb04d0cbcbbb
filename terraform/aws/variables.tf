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
  description = "primary: this region writes (PostgreSQL primary plus a local streaming replica, bridge running). standby: every PostgreSQL host here is a replica of upstream_postgres_host and the bridge runs bridge_standby_count tasks until a failover."
  default     = "primary"

  validation {
    condition     = contains(["primary", "standby"], var.role)
    error_message = "role must be \"primary\" or \"standby\"."
  }
}

variable "issuer_url" {
  type        = string
  description = "Public issuer URL (https://host, no trailing slash). Becomes the bridge's AGENTIDP_ISSUER and the database setting agentidp.issuer; every region of one deployment uses the same value."

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", var.issuer_url))
    error_message = "issuer_url must look like https://idp.example.com (no path, no trailing slash)."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ARN of the ACM certificate for the issuer host name, served by the ALB's HTTPS listener."
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC. Regions of one deployment need non-overlapping blocks for peering."
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  type        = list(string)
  description = "Two availability zones of the provider's region: PostgreSQL primary and replica, Redis nodes and bridge tasks are spread over them."

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "availability_zones must list exactly two zones."
  }
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "Networks allowed to reach the public load balancer."
  default     = ["0.0.0.0/0"]
}

variable "peer_cidrs" {
  type        = list(string)
  description = "VPC CIDRs of the other regions of the deployment: allowed to stream WAL from this region's PostgreSQL hosts (and to be streamed from after a failover)."
  default     = []
}

variable "upstream_postgres_host" {
  type        = string
  description = "Standby role only: private address of the PostgreSQL primary (in another region, reached over VPC peering) that this region's first host streams from."
  default     = null
}

variable "bridge_image" {
  type        = string
  description = "Container image of agentidp-bridge (built from the repository's Dockerfile, target bridge), e.g. an ECR repository URL with a tag or digest."
}

variable "bridge_cpu" {
  type        = number
  description = "Fargate CPU units per bridge task (1024 = one vCPU)."
  default     = 1024
}

variable "bridge_memory" {
  type        = number
  description = "Fargate memory per bridge task, MiB."
  default     = 2048
}

variable "bridge_desired_count" {
  type        = number
  description = "Bridge tasks in a primary region. The bridge is stateless; scale it out freely, but keep bridge_desired_count * bridge_db_pool_size under postgres_max_connections."
  default     = 2
}

variable "bridge_standby_count" {
  type        = number
  description = "Bridge tasks in a standby region before a failover (0 = cold). Raise to bridge_desired_count when this region is promoted: against a read-only replica, issuance and revocation fail."
  default     = 0
}

variable "bridge_threads" {
  type        = number
  description = "AGENTIDP_THREADS: HTTP worker threads per bridge task."
  default     = 32
}

variable "bridge_db_pool_size" {
  type        = number
  description = "AGENTIDP_DB_POOL_SIZE: PostgreSQL connections per bridge task."
  default     = 16
}

variable "bridge_rate_limit" {
  type        = number
  description = "AGENTIDP_RATE_LIMIT: the bridge's own per-client limit (requests per minute, 0 = off), shared by all tasks through Redis. The bridge reads the client address from X-Forwarded-For because the ALB's subnets are its AGENTIDP_TRUSTED_PROXIES."
  default     = 100
}

variable "edge_rate_limit_per_minute" {
  type        = number
  description = "Requests per minute per client IP allowed by an AWS WAF rate-based rule on the ALB (answers 429 above it; DESIGN's default for the bridge is 100)."
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

variable "postgres_instance_type" {
  type        = string
  description = "EC2 instance type of the PostgreSQL hosts (token issuance is CPU-bound on RS256 signing: prefer compute-optimised types)."
  default     = "c7i.large"
}

variable "postgres_volume_gb" {
  type        = number
  description = "Size of each PostgreSQL host's encrypted gp3 data volume, GiB."
  default     = 100
}

variable "postgres_ami_id" {
  type        = string
  description = "AMI of the PostgreSQL hosts; null selects the latest official Debian 12 (amd64) image."
  default     = null
}

variable "agentidp_source_repo" {
  type        = string
  description = "Git URL the PostgreSQL hosts clone to build the extension (make && make install)."
}

variable "agentidp_source_ref" {
  type        = string
  description = "Git tag or branch of agentidp_source_repo to build; pin a release tag in production."
}

variable "redis_node_type" {
  type        = string
  description = "ElastiCache node type of the revocation-cache and rate-limit Redis."
  default     = "cache.t4g.small"
}

variable "secret_version" {
  type        = number
  description = "Increment to generate and store new values of the database and replication passwords (rotation). The key-encryption key is never regenerated by Terraform: a new KEK would make every stored signing key unreadable."
  default     = 1
}

variable "secrets_replica_regions" {
  type        = list(string)
  description = "Primary role only: regions that get a read replica of this deployment's secrets (the standby regions), so their hosts and tasks read the same KEK and passwords locally."
  default     = []
}

variable "shared_secret_arns" {
  type = object({
    kek = string
    db  = string
  })
  description = "Standby role only: ARNs of the secrets created by the primary region's module, as replicated into this region (same name, this region's ARN)."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "internal_domain" {
  type        = string
  description = "Private DNS zone of the deployment. db.<internal_domain> names the current PostgreSQL primary; it must be the same in every region because the replicated database URL secret names it."
  default     = "agentidp.internal"
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
