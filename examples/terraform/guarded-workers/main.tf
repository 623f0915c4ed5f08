# Agent workers with a hard ceiling: the variable is bounded by its validation and the
# ceiling is declared in a tag.

variable "worker_max_size" {
  type    = number
  default = 10

  validation {
    condition     = var.worker_max_size >= 1 && var.worker_max_size <= 20
    error_message = "worker_max_size must be between 1 and 20."
  }
}

resource "aws_launch_template" "worker" {
  name_prefix   = "agent-worker-"
  image_id      = "ami-0123456789abcdef0"
  instance_type = "m6i.large"
}

resource "aws_autoscaling_group" "agent_workers" {
  name                = "agent-workers"
  min_size            = 1
  max_size            = var.worker_max_size
  vpc_zone_identifier = ["subnet-0123456789abcdef0"]

  launch_template {
    id      = aws_launch_template.worker.id
    version = "$Latest"
  }

  tag {
    key                 = "costbreaker:max-size"
    value               = "20"
    propagate_at_launch = false
  }
}
