variable "name" {
  type        = string
  description = "Deployment name; each region's resources are prefixed with <name>-<region suffix>."
  default     = "agentidp"
}

variable "issuer_url" {
  type        = string
  description = "Public issuer URL, identical in both regions (tokens carry it as iss and clients cache the JWKS under it)."
}

variable "public_zone_id" {
  type        = string
  description = "Route 53 public hosted zone that holds the issuer's host name."
}

variable "active_region" {
  type        = string
  description = "Which region serves the issuer name and runs the bridge: \"primary\" normally, \"standby\" after its PostgreSQL host 0 has been promoted (terraform/README.md, failover runbook)."
  default     = "primary"

  validation {
    condition     = contains(["primary", "standby"], var.active_region)
    error_message = "active_region must be \"primary\" or \"standby\"."
  }
}

variable "primary_region" {
  type        = string
  description = "AWS region that writes."
  default     = "us-east-1"
}

variable "standby_region" {
  type        = string
  description = "AWS region holding the cross-region replica."
  default     = "us-west-2"
}

variable "primary_azs" {
  type        = list(string)
  description = "Two availability zones of primary_region."
  default     = ["us-east-1a", "us-east-1b"]
}

variable "standby_azs" {
  type        = list(string)
  description = "Two availability zones of standby_region."
  default     = ["us-west-2a", "us-west-2b"]
}

variable "primary_vpc_cidr" {
  type        = string
  description = "VPC CIDR of the primary region (must not overlap standby_vpc_cidr)."
  default     = "10.40.0.0/16"
}

variable "standby_vpc_cidr" {
  type        = string
  description = "VPC CIDR of the standby region."
  default     = "10.41.0.0/16"
}

variable "primary_certificate_arn" {
  type        = string
  description = "ACM certificate for the issuer host name in primary_region."
}

variable "standby_certificate_arn" {
  type        = string
  description = "ACM certificate for the issuer host name in standby_region."
}

variable "bridge_images" {
  type = object({
    primary = string
    standby = string
  })
  description = "Bridge image per region (ECR is regional; replicate the repository or push the same digest twice)."
}

variable "bridge_count" {
  type        = number
  description = "Bridge tasks in the active region."
  default     = 2
}

variable "agentidp_source_repo" {
  type        = string
  description = "Git URL the PostgreSQL hosts build the extension from."
}

variable "agentidp_source_ref" {
  type        = string
  description = "Release tag of agentidp_source_repo; the same in both regions (a replica needs the same extension build as its primary)."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
