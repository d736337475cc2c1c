#include "stack/stk_pkt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_pool_init(struct stk_pool *pool, uint32_t n_bufs)
{
	memset(pool, 0, sizeof(*pool));
	pool->pkts = calloc(n_bufs, sizeof(*pool->pkts));
	if (!pool->pkts)
		goto err;
	pool->free_stack = calloc(n_bufs, sizeof(*pool->free_stack));
	if (!pool->free_stack)
		goto err_pkts;
	if (posix_memalign((void **)&pool->mem, 64, (size_t)n_bufs * STK_PKT_BUF_SIZE))
		goto err_stack;
	for (uint32_t i = 0; i < n_bufs; i++) {
		pool->pkts[i].data = pool->mem + (size_t)i * STK_PKT_BUF_SIZE;
		pool->pkts[i].cap = STK_PKT_BUF_SIZE;
		pool->pkts[i].pool_idx = i;
		pool->free_stack[i] = n_bufs - 1 - i;
	}
	pool->n_free = pool->size = n_bufs;
	return 0;

err_stack:
	free(pool->free_stack);
err_pkts:
	free(pool->pkts);
err:
	memset(pool, 0, sizeof(*pool));
	return -ENOMEM;
}

void stk_pool_destroy(struct stk_pool *pool)
{
	free(pool->mem);
	free(pool->free_stack);
	free(pool->pkts);
	memset(pool, 0, sizeof(*pool));
}
